import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { closeServerAdmins } from './db/tenant-databases';
import { internalRoutes } from './routes/internal-routes';
import { tenantRoutes } from './routes/tenants';

/** The admin service: tenants, platform admins, system configuration and audit log. */
export function createApp(deps: ServiceDeps<'admin'>): Express {
  deps.onClose.push(closeServerAdmins);
  return createStandardServiceApp('admin', deps, (app, openapi) => {
    app.use('/api/v1/admin', tenantRoutes(deps, openapi));
    app.use('/internal', internalRoutes(deps, openapi));
  });
}
