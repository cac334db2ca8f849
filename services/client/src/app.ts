import { createStandardServiceApp, requireServiceToken, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { clientRoutes } from './routes/clients';
import { contentRoutes } from './routes/content';
import { internalRoutes } from './routes/internal';
import { profileRoutes } from './routes/profile';
import { importRoute, transferRoutes } from './routes/transfer';

/** The client service: clients, profiles, content, import and export. */
export function createApp(deps: ServiceDeps): Express {
  // Every client route acts for a verified identity from the gateway (or, under /internal, a peer service).
  const verified = requireServiceToken('client', deps.config.serviceJwtSecret);
  return createStandardServiceApp(
    'client',
    deps,
    (app, openapi) => {
      app.use('/api/v1/client', verified, clientRoutes(deps, openapi), profileRoutes(deps, openapi), transferRoutes(deps, openapi), contentRoutes(deps, openapi));
      app.use('/internal', verified, internalRoutes(deps, openapi));
    },
    // Imports read the raw upload stream, so they are mounted before JSON parsing.
    (app, openapi) => {
      app.use('/api/v1/client', importRoute(deps, openapi, verified));
    },
  );
}
