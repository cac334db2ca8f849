import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { clientRoutes } from './routes/clients';

/** The client service: clients, profiles, content, import and export. */
export function createApp(deps: ServiceDeps): Express {
  return createStandardServiceApp('client', deps, (app, openapi) => {
    app.use('/api/v1/client', clientRoutes(deps, openapi));
  });
}
