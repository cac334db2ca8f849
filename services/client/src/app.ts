import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { clientTransferRoutes } from './routes/client-transfer';
import { clientRoutes } from './routes/clients';
import { contentRoutes } from './routes/content';
import { internalRoutes } from './routes/internal';
import { profileRoutes } from './routes/profile';

/** The client service: clients, profiles, content, client import and export. */
export function createApp(deps: ServiceDeps<'client'>): Express {
  return createStandardServiceApp('client', deps, (app, openapi) => {
    app.use('/api/v1/client', clientRoutes(deps, openapi), profileRoutes(deps, openapi), clientTransferRoutes(deps, openapi), contentRoutes(deps, openapi));
    app.use('/internal', internalRoutes(deps, openapi));
  });
}
