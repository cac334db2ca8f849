import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { catalogueRoutes } from './routes/catalogue-routes';
import { internalRoutes } from './routes/internal-routes';
import { planRoutes } from './routes/plan-routes';

/** The subscription service: platform plans, tenants' plans and entitlements, feature flags, and each tenant's own catalogue and subscriptions. */
export function createApp(deps: ServiceDeps<'subscription'>): Express {
  return createStandardServiceApp('subscription', deps, (app, openapi) => {
    app.use('/api/v1/subscription', planRoutes(deps, openapi), catalogueRoutes(deps, openapi));
    app.use('/internal', internalRoutes(deps, openapi));
  });
}
