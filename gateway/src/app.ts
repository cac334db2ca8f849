import {
  BACKEND_SERVICES,
  sharedCounters,
  createServiceApp,
  opsAccess,
  degradedDependencies,
  ServiceUnavailableError,
  standardHealthChecks,
  WindowLimit,
  type ServiceDeps,
} from '@codex/shared';
import type { Express } from 'express';
import { ApiKeyResolver } from './api-key-resolver';
import { Authenticator } from './authenticate';
import { CallQuota } from './call-quota';
import { TrafficCounter } from './traffic';
import { PlanLimits } from './plan-limits';
import { proxiedRoutes } from './proxied-routes';
import { createCombinedOpenApi } from './combined-openapi';
import { createServiceHealthRouter } from './service-health';
import { KeyUsageReporter } from './key-usage';
import { createServiceProxy } from './service-proxy';
import { UserTokenVerifier } from './user-token-verifier';
import { RedisStreamBuffer, SpoolFileBuffer } from './usage-buffer';
import { UsageMeter } from './usage-meter';

/** How often each gateway adds its API call tallies to the stored counts (the quota's slack per instance). */
const CALL_COUNT_FLUSH_MS = 1_000;
/** The dashboard refreshes every 5 s; its requests-per-minute figure is at most this much behind. */
const TRAFFIC_FLUSH_MS = 5_000;

export interface GatewayOptions {
  /** For tests: the least time between two fetches of the auth service's JWKS (default 1 s). */
  jwksMinRefetchMs?: number;
}

/**
 * The core gateway, the one public entry point: per request it limits by IP,
 * resolves the tenant from `X-API-Key`, verifies the user or admin token,
 * limits by key, and proxies `/api/v1/<service>/...` with a service JWT that
 * carries the verified identity. Also `/health/services` and the JWKS.
 */
export function createApp(deps: ServiceDeps<'gateway'>, options: GatewayOptions = {}): Express {
  const { config, logger } = deps;
  const keys = new ApiKeyResolver(deps.db, config.gateway.apiKeyCacheMs);
  const keyUsage = new KeyUsageReporter(deps.clients.get('admin'), config.gateway.apiKeyUsageFlushMs, logger);
  const quota = new CallQuota(deps.db, CALL_COUNT_FLUSH_MS, logger);
  const traffic = new TrafficCounter(deps.db, TRAFFIC_FLUSH_MS, logger);
  const usage = config.gateway.usage;
  const spool = new SpoolFileBuffer(usage.spoolDir, usage.bufferMaxEvents);
  const meter = usage.metering
    ? new UsageMeter({
        billing: deps.clients.get('billing'),
        buffer: deps.redis ? new RedisStreamBuffer(deps.redis, config.redisPrefix, usage.bufferMaxEvents) : spool,
        fallback: deps.redis ? spool : undefined,
        flushMs: usage.flushMs,
        logger,
        metrics: deps.metrics,
      })
    : undefined;
  deps.onClose.push(
    () => keyUsage.close(),
    () => quota.close(),
    () => traffic.close(),
    async () => meter?.close(),
  );
  const tokens = new UserTokenVerifier(config.serviceUrls.auth, { minRefetchMs: options.jwksMinRefetchMs });
  // Suspensions, revocations and ended admin sessions made through any instance are in force here within a poll.
  deps.accessChanges.onChange((change) => (change.kind === 'admin_sessions_ended' ? tokens.endSessions(change.adminId, change.at) : keys.forget(change)));
  const { rateLimitPerIp, rateLimitPerKey, rateLimitWindowMs } = config.gateway;
  const operators = opsAccess(config.gateway.opsAllowFrom);
  const proxies = new Map(
    BACKEND_SERVICES.map((service) => [
      service,
      createServiceProxy({ service, baseUrl: config.serviceUrls[service], timeoutMs: config.upstreamTimeoutMs, logger, signer: deps.signer }),
    ]),
  );
  for (const proxy of proxies.values()) deps.onClose.push(() => proxy.close());

  return createServiceApp({
    service: 'gateway',
    config,
    logger,
    healthChecks: standardHealthChecks(deps),
    breakerStates: () => deps.clients.breakerStates(),
    degraded: degradedDependencies(deps),
    openApiDocument: createCombinedOpenApi(config.serviceUrls),
    metrics: deps.metrics,
    opsAccess: operators,
    direct: proxiedRoutes({
      proxies,
      authenticator: new Authenticator(keys, tokens, keyUsage),
      ipLimit: { limit: new WindowLimit({ name: 'gateway-ip', windowMs: rateLimitWindowMs, redis: sharedCounters(deps) }), max: rateLimitPerIp },
      keyLimit: {
        limit: new WindowLimit({ name: 'gateway-key', windowMs: rateLimitWindowMs, redis: sharedCounters(deps) }),
        fallbackMax: rateLimitPerKey,
        windowMs: rateLimitWindowMs,
      },
      plans: config.gateway.planLimits ? new PlanLimits(deps.entitlements, quota) : undefined,
      meter,
      traffic,
    }),
    streamingRoutes: (app) => {
      app.get('/.well-known/jwks.json', async (_req, res) => {
        const jwks = await tokens.jwks().catch((err: unknown) => {
          throw new ServiceUnavailableError('Signing keys are not available yet', err);
        });
        res.set('Cache-Control', 'public, max-age=300').json(jwks);
      });
    },
    routes: (app) => {
      app.use('/health/services', operators, createServiceHealthRouter({ serviceUrls: config.serviceUrls, breakerStates: () => deps.clients.breakerStates() }));
    },
  });
}
