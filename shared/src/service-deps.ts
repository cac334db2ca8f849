import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import type { Express } from 'express';
import { ConfigError, loadConfig, type ServiceConfig } from './config';
import { SecretBox } from './crypto/secret-box';
import { AccessChanges } from './db/access-changes';
import { AuditWriter } from './db/audit';
import { PlatformConfig } from './platform-config';
import { createPool, pingDatabase, type Pool } from './db/pool';
import { createTenantConnectionResolver, recentlyActiveTenants } from './db/tenant-connection';
import { TenantPoolCache } from './db/tenant-pool-cache';
import { createServiceApp, type ServiceAppOptions } from './http/create-service-app';
import { SharedCounters } from './http/rate-limit';
import { Entitlements } from './plans/entitlements';
import { createLogger, type Logger } from './logger';
import { counter, createMetricsRegistry, observedGauge, type MetricsRegistry } from './metrics';
import { installGracefulShutdown, listen } from './server';
import { type BreakerState, ServiceClients } from './service-client';

const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
import { createServiceTokenSigner, type ServiceTokenSigner } from './service-token';
import { TENANT_DATA_SERVICES, type ServiceName } from './services';

/** Everything a service's createApp needs; main.ts builds it, tests build it their own way. */
export interface ServiceDeps<S extends ServiceName = ServiceName> {
  config: ServiceConfig<S>;
  logger: Logger;
  /** Pool of the master database. */
  db: Pool;
  /** Pools of tenant databases, one per tenant, capped. */
  tenants: TenantPoolCache;
  /** Clients of the other services, one breaker each. */
  clients: ServiceClients;
  signer: ServiceTokenSigner;
  /** Seals and opens platform secrets (tenant database passwords, …). */
  secrets: SecretBox;
  /** Shared state across instances (rate-limit counters), when REDIS_URL is set. */
  redis?: RedisClient;
  /** Rate-limit counters in Redis, with its availability, when REDIS_URL is set. */
  counters?: SharedCounters;
  /** The process's Prometheus registry: HTTP, breakers, pools and domain counters all report here. */
  metrics: MetricsRegistry;
  /** Tenants' plans and feature flags, cached and kept current (see Entitlements). */
  entitlements: Entitlements;
  /** Suspensions, resumptions and key revocations made by any instance, read each second. */
  accessChanges: AccessChanges;
  /** The live platform configuration (GET/PUT /api/v1/admin/config), reloaded within a second of a change. */
  platformConfig: PlatformConfig;
  /** Stand-alone audit entries (not part of a change's transaction): never fail the caller, buffered and retried. */
  audit: AuditWriter;
  /** What an app made from these deps must release on shutdown (worker pools, timers); run first. */
  onClose: Array<() => Promise<void>>;
}

export type RedisClient = ReturnType<typeof createClient>;

/** Builds the standard dependencies from a loaded config. */
export function createServiceDeps<S extends ServiceName>(
  config: ServiceConfig<S>,
  logger: Logger = createLogger(config.service, { level: config.logLevel }),
): ServiceDeps<S> {
  const db = createPool(config.databaseUrl, {
    max: config.dbPoolSize,
    applicationName: `codex-${config.service}`,
    logger,
  });
  const secrets = new SecretBox(config.secretKeys[0]!, config.secretKeys.slice(1));
  const tenants = new TenantPoolCache({
    resolve: createTenantConnectionResolver(db, { default: config.databaseUrl }, secrets),
    maxPools: config.tenantPool.maxPools,
    maxConnections: config.tenantPool.maxConnections,
    poolSize: config.tenantPool.poolSize,
    idleTimeoutMs: config.tenantPool.idleMs,
    logger,
  });
  const signer = createServiceTokenSigner(config.service, config.serviceJwtSecret);
  const clients = new ServiceClients({
    caller: config.service,
    serviceUrls: config.serviceUrls,
    signer,
    timeoutMs: config.upstreamTimeoutMs,
    logger,
  });
  let redis: RedisClient | undefined;
  let counters: SharedCounters | undefined;
  if (config.redisUrl) {
    // Commands fail at once while Redis is unreachable (no offline queue), so limiters count in process
    // instead of waiting: a Redis outage degrades limits, it never stops or slows the service.
    redis = createClient({
      url: config.redisUrl,
      disableOfflineQueue: true,
      socket: { connectTimeout: 1_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000) },
    });
    // SharedCounters logs the outage once; each failed reconnect is only debug noise.
    redis.on('error', (err: unknown) => logger.debug('redis connection error', { err }));
    redis.connect().catch(() => undefined);
    counters = new SharedCounters(redis, config.redisPrefix, logger);
  }
  const metrics = createMetricsRegistry(config.service);
  observedGauge(metrics, 'db_pool_connections', 'Master database connections of this process, by state', ['state'], () => [
    [{ state: 'open' }, db.totalCount],
    [{ state: 'idle' }, db.idleCount],
    [{ state: 'waiting' }, db.waitingCount],
  ]);
  observedGauge(metrics, 'tenant_pool_cache', 'The tenant pool cache: pools open, connections open and leased, and their caps', ['measure'], () =>
    Object.entries(tenants.stats()).map(([measure, value]) => [{ measure }, value]),
  );
  observedGauge(metrics, 'upstream_breaker_state', 'Circuit breaker per upstream: 0 closed, 1 half-open, 2 open', ['upstream'], () =>
    Object.entries(clients.breakerStates()).map(([upstream, state]) => [{ upstream }, BREAKER_STATE_VALUE[state]]),
  );
  const transitions = counter(metrics, 'upstream_breaker_transitions_total', 'Circuit breaker state changes per upstream', ['upstream', 'to']);
  clients.onStateChange((upstream, to) => transitions.inc({ upstream, to }));
  if (counters)
    observedGauge(metrics, 'redis_available', 'Whether Redis answers (1) or limits count per instance (0)', [], () => [[{}, counters.degraded ? 0 : 1]]);
  const entitlements = new Entitlements(db, { logger });
  const accessChanges = new AccessChanges(db, { logger });
  const platformConfig = new PlatformConfig(db, { logger });
  const audit = new AuditWriter(db, { logger, metrics });
  return { config, logger, db, tenants, clients, signer, secrets, redis, counters, metrics, entitlements, accessChanges, platformConfig, audit, onClose: [] };
}

/** Releases what createServiceDeps opened. */
export async function closeServiceDeps(deps: ServiceDeps): Promise<void> {
  for (const close of deps.onClose.splice(0)) await close();
  deps.clients.shutdown();
  deps.entitlements.close();
  deps.accessChanges.close();
  deps.platformConfig.close();
  // Kept entries get a last try while the pool is still open.
  await deps.audit.close();
  if (deps.redis?.isOpen) await deps.redis.close();
  await deps.tenants.close();
  await deps.db.end();
}

/** The checks every service's /health runs. */
export function standardHealthChecks(deps: Pick<ServiceDeps, 'db'>): Record<string, () => Promise<void>> {
  return { database: () => pingDatabase(deps.db) };
}

/**
 * What a service's main.ts does: read config (a bad variable stops the process
 * with one line naming it), build deps, listen, shut down gracefully.
 */
export async function runService<S extends ServiceName>(service: S, createApp: (deps: ServiceDeps<S>) => Express): Promise<void> {
  let config: ServiceConfig<S>;
  try {
    config = loadConfig(service);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const deps = createServiceDeps(config);
  const app = createApp(deps);
  const server = await listen(app, config.port, config.host);
  installGracefulShutdown(server, {
    logger: deps.logger,
    timeoutMs: config.shutdownTimeoutMs,
    onClose: () => closeServiceDeps(deps),
  });
  // Announced last: launchers and tests take this line as "ready", signals included.
  const address = server.address() as AddressInfo;
  deps.logger.info('listening', { url: `http://${address.address}:${address.port}` });
  // Under PM2 (wait_ready), a reload waits for this before stopping the instance it replaces.
  process.send?.('ready');
  if (TENANT_DATA_SERVICES.has(service) && config.tenantPool.warm > 0) void warmTenantPools(deps, config.tenantPool.warm);
}

/** After a start: a connection to each of the `count` most recently active tenants' databases, in the background. */
export async function warmTenantPools(deps: ServiceDeps, count: number): Promise<number> {
  try {
    const warmed = await deps.tenants.warm(await recentlyActiveTenants(deps.db, count));
    deps.logger.info('tenant pools warmed', { tenants: warmed });
    return warmed;
  } catch (err) {
    deps.logger.warn('could not warm tenant pools', { err });
    return 0;
  }
}

/** A service app with the standard health checks and breaker reporting; `routes` mounts the service's own API. */
export function createStandardServiceApp(
  service: ServiceName,
  deps: ServiceDeps,
  routes?: ServiceAppOptions['routes'],
  /** Routes that read the raw request stream (uploads); mounted before JSON parsing. */
  streamingRoutes?: ServiceAppOptions['streamingRoutes'],
): Express {
  // A tenant suspended, deleted or moved to another server anywhere has its pooled connections in this process closed within a poll.
  deps.accessChanges.onChange((change) =>
    change.kind === 'tenant_suspended' || change.kind === 'tenant_deleted' || change.kind === 'tenant_moved'
      ? deps.tenants.invalidate(change.tenantId)
      : undefined,
  );
  return createServiceApp({
    service,
    config: deps.config,
    logger: deps.logger,
    healthChecks: standardHealthChecks(deps),
    breakerStates: () => deps.clients.breakerStates(),
    degraded: degradedDependencies(deps),
    metrics: deps.metrics,
    routes,
    streamingRoutes,
  });
}

/** Where rate-limit counters go: Redis (shared by every instance) when configured, else undefined (in process). */
export function sharedCounters(deps: Pick<ServiceDeps, 'counters'>): SharedCounters | undefined {
  return deps.counters;
}

/** What a service can lose and keep serving, degraded: shown in /health without failing it. */
export function degradedDependencies(deps: Pick<ServiceDeps, 'counters'>): () => string[] {
  return () => (deps.counters?.degraded ? ['redis'] : []);
}
