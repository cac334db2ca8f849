import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import type { AuthDeps } from './domain/accounts';
import { KeyRing } from './domain/key-ring';
import { PasswordHasher } from './domain/passwords';
import { authRoutes } from './routes/auth-routes';

/** The auth service: tenant users and platform admins, tokens (ES256, JWKS), permissions. */
export function createApp(deps: ServiceDeps<'auth'>): Express {
  const passwords = new PasswordHasher(deps.config.auth.bcryptCost);
  deps.onClose.push(() => passwords.close());
  const authDeps: AuthDeps = {
    keys: new KeyRing(deps.db, deps.secrets),
    passwords,
    master: deps.db,
    reuseGrace: { seconds: deps.config.auth.refreshReuseGraceSeconds, secrets: deps.secrets },
    logger: deps.logger,
    platformConfig: deps.platformConfig,
    secrets: deps.secrets,
    audit: deps.audit,
  };
  return createStandardServiceApp('auth', deps, (app, openapi) => {
    app.get('/.well-known/jwks.json', async (_req, res) => {
      res.set('Cache-Control', 'public, max-age=300').json(await authDeps.keys.jwks());
    });
    app.use('/api/v1/auth', authRoutes(deps, authDeps, openapi));
  });
}
