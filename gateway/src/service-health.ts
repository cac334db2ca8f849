import { BACKEND_SERVICES, type BreakerState, type ServiceName } from '@codex/shared';
import { Router } from 'express';

export interface ServiceHealth {
  service: ServiceName;
  status: 'up' | 'down';
  latencyMs: number;
  httpStatus?: number;
  error?: string;
  breaker: BreakerState;
}

export interface ServiceHealthOptions {
  serviceUrls: Record<ServiceName, string>;
  breakerStates: () => Record<string, BreakerState>;
  /** Each service must answer its /health within this. */
  timeoutMs?: number;
}

async function probe(service: ServiceName, baseUrl: string, timeoutMs: number): Promise<Omit<ServiceHealth, 'breaker'>> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return {
      service,
      status: response.ok ? 'up' : 'down',
      latencyMs: Math.round(performance.now() - started),
      httpStatus: response.status,
    };
  } catch (err) {
    const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable';
    return { service, status: 'down', latencyMs: Math.round(performance.now() - started), error: reason };
  }
}

/** `GET /health/services`: every backend service polled at once, each within a second. */
export function createServiceHealthRouter(options: ServiceHealthOptions): Router {
  const timeoutMs = options.timeoutMs ?? 1_000;
  const router = Router();
  router.get('/', async (_req, res) => {
    const results = await Promise.all(BACKEND_SERVICES.map((service) => probe(service, options.serviceUrls[service], timeoutMs)));
    const breakers = options.breakerStates();
    const services = results.map((result) => ({ ...result, breaker: breakers[result.service] ?? 'closed' }));
    const allUp = services.every((service) => service.status === 'up');
    res
      .status(allUp ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: allUp ? 'ok' : 'degraded', services });
  });
  return router;
}
