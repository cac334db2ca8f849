import { BACKEND_SERVICES, probeService, type BreakerState, type ServiceName, type ServiceProbe } from '@codex/shared';
import { Router } from 'express';

export interface ServiceHealth extends ServiceProbe {
  breaker: BreakerState;
}

export interface ServiceHealthOptions {
  serviceUrls: Record<ServiceName, string>;
  breakerStates: () => Record<string, BreakerState>;
  /** Each service must answer its /health within this. */
  timeoutMs?: number;
}

/** `GET /health/services`: every backend service polled at once, each within a second. */
export function createServiceHealthRouter(options: ServiceHealthOptions): Router {
  const timeoutMs = options.timeoutMs ?? 1_000;
  const router = Router();
  router.get('/', async (_req, res) => {
    const results = await Promise.all(BACKEND_SERVICES.map((service) => probeService(service, options.serviceUrls[service], timeoutMs)));
    const breakers = options.breakerStates();
    const services: ServiceHealth[] = results.map((result) => ({ ...result, breaker: breakers[result.service] ?? 'closed' }));
    // A service running without an optional dependency (degraded) still serves.
    const allUp = services.every((service) => service.status !== 'down');
    res
      .status(allUp ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: allUp ? 'ok' : 'degraded', services });
  });
  return router;
}
