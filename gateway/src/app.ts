import {
  BACKEND_SERVICES,
  createRateLimit,
  sharedCounters,
  createServiceApp,
  opsAccess,
  degradedDependencies,
  ipKeyGenerator,
  ServiceUnavailableError,
  standardHealthChecks,
  type ServiceDeps,
} from '@codex/shared';
import type { Express } from 'express';
import { ApiKeyResolver } from './api-key-resolver';
import { authenticate } from './authenticate';
import { CallQuota } from './call-quota';
import { perKeyLimit, planLimits } from './plan-limits';
import { createCombinedOpenApi } from './combined-openapi';
import { createServiceHealthRouter } from './service-health';
import { KeyUsageReporter } from './key-usage';
import { createServiceProxy } from './service-proxy';
import { UserTokenVerifier } from './user-token-verifier';
import { RedisStreamBuffer, SpoolFileBuffer } from './usage-buffer';
import { UsageMeter } from './usage-meter';

/** How often each gateway adds its API call tallies to the stored counts (the quota's slack per instance). */
const CALL_COUNT_FLUSH_MS = 1_000;

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
    async () => meter?.close(),
  );
  const tokens = new UserTokenVerifier(config.serviceUrls.auth, { minRefetchMs: options.jwksMinRefetchMs });
  const { rateLimitPerIp, rateLimitPerKey, rateLimitWindowMs } = config.gateway;
  const operators = opsAccess(config.gateway.opsAllowFrom);

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
    // Proxied requests are labelled by the route template they matched in the route table, never the raw path.
    metricsRouteLabel: (req) => req.res?.locals.routeTemplate ?? 'unmatched',
    streamingRoutes: (app) => {
      app.get('/.well-known/jwks.json', async (_req, res) => {
        const jwks = await tokens.jwks().catch((err: unknown) => {
          throw new ServiceUnavailableError('Signing keys are not available yet', err);
        });
        res.set('Cache-Control', 'public, max-age=300').json(jwks);
      });
      app.use(
        '/api/v1',
        createRateLimit({ name: 'gateway-ip', windowMs: rateLimitWindowMs, limit: rateLimitPerIp, redis: sharedCounters(deps) }),
        authenticate(keys, tokens, keyUsage),
        ...(config.gateway.planLimits ? [planLimits(deps.entitlements, quota)] : []),
        createRateLimit({
          name: 'gateway-key',
          windowMs: rateLimitWindowMs,
          limit: (_req, res) => perKeyLimit(res.locals.planRequestsPerMinute, rateLimitWindowMs, rateLimitPerKey),
          redis: sharedCounters(deps),
          key: (req) => req.res?.locals.apiKeyId ?? ipKeyGenerator(req.ip ?? 'unknown'),
        }),
        ...(meter ? [meter.middleware()] : []),
      );
      for (const service of BACKEND_SERVICES) {
        const proxy = createServiceProxy({ service, baseUrl: config.serviceUrls[service], timeoutMs: config.upstreamTimeoutMs, logger, signer: deps.signer });
        deps.onClose.push(() => proxy.close());
        app.use(`/api/v1/${service}`, proxy.handler);
      }
    },
    routes: (app) => {
      app.use('/health/services', operators, createServiceHealthRouter({ serviceUrls: config.serviceUrls, breakerStates: () => deps.clients.breakerStates() }));
    },
  });
}
