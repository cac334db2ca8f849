import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { contactTransferRoutes } from './routes/contact-transfer';
import { crmRoutes } from './routes/crm-routes';

/** The CRM service: contacts (with their import and export), deals, pipelines and activities. */
export function createApp(deps: ServiceDeps<'crm'>): Express {
  return createStandardServiceApp('crm', deps, (app, openapi) => {
    app.use('/api/v1/crm', crmRoutes(deps, openapi), contactTransferRoutes(deps, openapi));
  });
}
