import type { ServiceName } from './services';

export type ProbedStatus = 'up' | 'degraded' | 'down';

export interface ServiceProbe {
  service: ServiceName;
  /** `degraded`: answers 200 but runs without a dependency it can do without (e.g. Redis). */
  status: ProbedStatus;
  latencyMs: number;
  httpStatus?: number;
  error?: string;
  degraded?: string[];
}

/** One `GET /health` of a service, within `timeoutMs`; never throws. */
export async function probeService(service: ServiceName, baseUrl: string, timeoutMs: number): Promise<ServiceProbe> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => undefined)) as { degraded?: unknown } | undefined;
    const degraded = Array.isArray(body?.degraded) ? body.degraded.filter((name): name is string => typeof name === 'string') : [];
    const status: ProbedStatus = !response.ok ? 'down' : degraded.length > 0 ? 'degraded' : 'up';
    return { service, status, latencyMs: Math.round(performance.now() - started), httpStatus: response.status, ...(degraded.length ? { degraded } : {}) };
  } catch (err) {
    const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable';
    return { service, status: 'down', latencyMs: Math.round(performance.now() - started), error: reason };
  }
}
