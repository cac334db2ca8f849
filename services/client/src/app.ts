import { createStandardServiceApp, requireServiceToken, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { clientRoutes } from './routes/clients';
import { internalRoutes } from './routes/internal';
import { profileRoutes } from './routes/profile';

/** The client service: clients, profiles, content, import and export. */
export function createApp(deps: ServiceDeps): Express {
  return createStandardServiceApp('client', deps, (app, openapi) => {
    // Every client route acts for a verified identity from the gateway.
    const verified = requireServiceToken('client', deps.config.serviceJwtSecret);
    app.use('/api/v1/client', verified, clientRoutes(deps, openapi), profileRoutes(deps, openapi));
    app.use('/internal', verified, internalRoutes(deps, openapi));
  });
}
