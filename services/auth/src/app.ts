import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';

/** The auth service: tenant users and platform admins: sign-up, login, tokens, permissions. */
export function createApp(deps: ServiceDeps): Express {
  return createStandardServiceApp('auth', deps);
}
