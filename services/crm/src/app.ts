import { createStandardServiceApp, requireServiceToken, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { crmRoutes } from './routes/crm-routes';
import { internalRoutes } from './routes/internal-routes';

/** The CRM service: contacts, deals, pipelines and activities. */
export function createApp(deps: ServiceDeps): Express {
  const verified = requireServiceToken('crm', deps.config.serviceJwtSecret);
  return createStandardServiceApp('crm', deps, (app, openapi) => {
    app.use('/api/v1/crm', verified, crmRoutes(deps, openapi));
    app.use('/internal', verified, internalRoutes(deps, openapi));
  });
}
