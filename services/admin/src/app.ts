import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';

/** The admin service: tenants, platform admins, system configuration and audit log. */
export function createApp(deps: ServiceDeps): Express {
  return createStandardServiceApp('admin', deps);
}
