import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { closeServerAdmins } from './db/tenant-databases';
import { SpareDatabases } from './domain/spare-databases';
import { internalRoutes } from './routes/internal-routes';
import { tenantRoutes } from './routes/tenants';

/** The admin service: tenants, platform admins, system configuration and audit log. */
export function createApp(deps: ServiceDeps<'admin'>): Express {
  const spares = new SpareDatabases({
    serverUrl: deps.config.databaseUrl,
    templateDatabase: deps.config.provisioning.templateDatabase,
    count: deps.config.provisioning.spares,
    logger: deps.logger,
  });
  spares.refill();
  deps.onClose.push(() => spares.close(), closeServerAdmins);
  return createStandardServiceApp('admin', deps, (app, openapi) => {
    app.use('/api/v1/admin', tenantRoutes(deps, openapi, spares));
    app.use('/internal', internalRoutes(deps, openapi));
  });
}
