import { BACKEND_SERVICES, createServiceApp, standardHealthChecks, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { createServiceHealthRouter } from './service-health';
import { createServiceProxy } from './service-proxy';

/**
 * The core gateway: the one public entry point. Proxies `/api/v1/<service>/...`
 * to the six services and reports their health at `/health/services`.
 */
export function createApp(deps: ServiceDeps): Express {
  const { config, logger } = deps;
  return createServiceApp({
    service: 'gateway',
    config,
    logger,
    healthChecks: standardHealthChecks(deps),
    breakerStates: () => deps.clients.breakerStates(),
    metricsRouteLabel: (req) => {
      const path = req.originalUrl.split('?')[0] ?? '';
      const service = BACKEND_SERVICES.find((name) => path.startsWith(`/api/v1/${name}/`) || path === `/api/v1/${name}`);
      return service ? `/api/v1/${service}/*` : 'unmatched';
    },
    streamingRoutes: (app) => {
      for (const service of BACKEND_SERVICES) {
        app.use(
          `/api/v1/${service}`,
          createServiceProxy({ service, baseUrl: config.serviceUrls[service], timeoutMs: config.upstreamTimeoutMs, logger }),
        );
      }
    },
    routes: (app) => {
      app.use(
        '/health/services',
        createServiceHealthRouter({ serviceUrls: config.serviceUrls, breakerStates: () => deps.clients.breakerStates() }),
      );
    },
  });
}
