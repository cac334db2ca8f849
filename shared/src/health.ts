import type { Response } from 'express';
import { z } from 'zod';
import type { BreakerState } from './service-client';

export type HealthCheck = () => Promise<void>;

export interface HealthOptions {
  service: string;
  version: string;
  checks: Record<string, HealthCheck>;
  breakerStates?: () => Record<string, BreakerState>;
  /** Dependencies the service runs without, degraded but serving: listed, never a failed check. */
  degraded?: () => string[];
  /** Which start of the platform this process belongs to (INSTANCE_ID), if any. */
  instance?: string;
  /** Each check must answer within this, so /health always answers in under a second. */
  checkTimeoutMs?: number;
  /**
   * Check results are reused this long, and concurrent probes share one run,
   * so load balancers polling /health cannot overload the database.
   */
  cacheMs?: number;
}

interface CheckResult {
  status: 'ok' | 'fail';
  latencyMs: number;
  error?: string;
}

/** What `/health` answers (200 when every check passes, 503 otherwise). */
export const HealthReportSchema = z
  .object({
    status: z.enum(['ok', 'down']),
    service: z.string(),
    version: z.string(),
    uptimeSeconds: z.number().int(),
    checks: z.record(z.string(), z.object({ status: z.enum(['ok', 'fail']), latencyMs: z.number().int(), error: z.string().optional() })),
    breakers: z.record(z.string(), z.enum(['closed', 'open', 'half-open'])),
    degraded: z.array(z.string()).describe('Dependencies the service is running without (e.g. redis: limits count per instance)'),
    instance: z.string().nullable().describe('INSTANCE_ID of the process (npm start sets one per start)'),
  })
  .meta({ id: 'HealthReport' });
export type HealthReport = z.infer<typeof HealthReportSchema>;

function withTimeout(check: HealthCheck, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    check().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function runChecks(checks: Record<string, HealthCheck>, timeoutMs: number): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = performance.now();
      try {
        await withTimeout(check, timeoutMs);
        return [name, { status: 'ok', latencyMs: Math.round(performance.now() - started) }];
      } catch (err) {
        return [name, { status: 'fail', latencyMs: Math.round(performance.now() - started), error: (err as Error).message }];
      }
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * The health report: 200 when every check passes, 503 otherwise, with per-check
 * detail and breaker states; checks run at most once per `cacheMs`. Served as
 * `GET /health` and each service's public `GET /api/v1/<service>/health`.
 */
export function healthReporter(options: HealthOptions): () => Promise<{ status: 200 | 503; report: HealthReport }> {
  const timeoutMs = options.checkTimeoutMs ?? 800;
  const cacheMs = options.cacheMs ?? 1_000;
  let cached: { at: number; results: Promise<Record<string, CheckResult>> } | undefined;

  const checkResults = () => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) cached = { at: now, results: runChecks(options.checks, timeoutMs) };
    return cached.results;
  };

  return async () => {
    const checks = await checkResults();
    const healthy = Object.values(checks).every((check) => check.status === 'ok');
    const report: HealthReport = {
      status: healthy ? 'ok' : 'down',
      service: options.service,
      version: options.version,
      uptimeSeconds: Math.round(process.uptime()),
      checks,
      breakers: options.breakerStates?.() ?? {},
      degraded: options.degraded?.() ?? [],
      instance: options.instance ?? null,
    };
    return { status: healthy ? 200 : 503, report };
  };
}

/** The health report as an Express handler (see healthReporter). */
export function healthHandler(health: ReturnType<typeof healthReporter>): (req: unknown, res: Response) => Promise<void> {
  return async (_req: unknown, res: Response) => {
    const { status, report } = await health();
    res.status(status).set('Cache-Control', 'no-store').json(report);
  };
}
