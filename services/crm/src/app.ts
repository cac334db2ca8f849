import { createStandardServiceApp, requireServiceToken, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { crmRoutes } from './routes/crm-routes';

/** The CRM service: contacts, deals, pipelines and activities. */
export function createApp(deps: ServiceDeps): Express {
  return createStandardServiceApp('crm', deps, (app, openapi) => {
    app.use('/api/v1/crm', requireServiceToken('crm', deps.config.serviceJwtSecret), crmRoutes(deps, openapi));
  });
}
