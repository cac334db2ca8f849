import { isIP } from 'node:net';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from './logger';
import { parseSecretKeys, type SecretKey } from './crypto/secret-box';
import { SERVICE_NAMES, SERVICE_PORTS, envPrefix, type ServiceName } from './services';

/** A missing or malformed environment variable; the message names it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const DEV_SERVICE_JWT_SECRET = 'dev-only-service-jwt-secret-change-me-0123456789';
/** Development only: production refuses to start without SECRETS_KEYS. */
const DEV_SECRETS_KEYS = 'dev:ZGV2LW9ubHktc2VjcmV0cy1rZXktMzItYnl0ZXMhISE=';

const secretKeys = z.string().transform((value, ctx) => {
  try {
    const keys = parseSecretKeys(value);
    if (keys.length === 0 || keys.some((k) => k.key.length !== 32)) throw new Error('each key must be 32 bytes');
    return keys;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be <id>:<base64 of 32 bytes>[,…] (${(err as Error).message})` });
    return z.NEVER;
  }
});

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const byteSize = z.string().regex(/^\d+(b|kb|mb)?$/i, 'must be a size such as 512kb or 1mb');

const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** What every service reads. */
const baseSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('http'),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
  DB_POOL_SIZE: positiveInt.default(5),
  TENANT_POOL_MAX_POOLS: positiveInt.default(100),
  TENANT_POOL_MAX_CONNECTIONS: positiveInt.default(20),
  TENANT_POOL_SIZE: positiveInt.default(4),
  TENANT_POOL_IDLE_MS: positiveInt.default(30_000),
  TENANT_POOL_WARM: z.coerce.number().int().min(0).default(20),
  SERVICE_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SECRETS_KEYS: secretKeys.optional(),
  CORS_ORIGINS: commaList.default([]),
  BODY_LIMIT: byteSize.default('1mb'),
  UPSTREAM_TIMEOUT_MS: positiveInt.default(30_000),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  TRUST_PROXY: z
    .string()
    .default('loopback')
    .transform((value): boolean | number | string => (value === 'true' ? true : value === 'false' ? false : /^\d+$/.test(value) ? Number(value) : value)),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' }).optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ : -')
    .default('codex'),
  // Shown in /health, so a launcher can tell its own processes from others on the same ports.
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -')
    .optional(),
});

/** Password hashing and login throttling (auth service). */
const authSettings = z
  .object({
    BCRYPT_COST: z.coerce.number().int().min(10).max(15).default(12),
    LOGIN_ACCOUNT_ATTEMPTS: positiveInt.default(5),
    LOGIN_IP_ATTEMPTS: positiveInt.default(50),
    LOGIN_WINDOW_MS: positiveInt.default(15 * 60_000),
    // Two tabs refreshing at once: within this many seconds a spent token answers with its live successor.
    REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  })
  .transform((env) => ({
    auth: {
      bcryptCost: env.BCRYPT_COST,
      loginAccountAttempts: env.LOGIN_ACCOUNT_ATTEMPTS,
      loginIpAttempts: env.LOGIN_IP_ATTEMPTS,
      loginWindowMs: env.LOGIN_WINDOW_MS,
      refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
    },
  }));

/** Request limits and caches of the gateway. */
const gatewaySettings = z
  .object({
    RATE_LIMIT_PER_KEY: positiveInt.default(6_000),
    RATE_LIMIT_PER_IP: positiveInt.default(3_000),
    RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
    API_KEY_CACHE_MS: positiveInt.default(30_000),
    API_KEY_USAGE_FLUSH_MS: positiveInt.default(60_000),
    // Tenants' plan limits in the gateway (per-key rate from the plan, monthly call quota); `off` is the
    // operator's valve should plan data be wrong, and the benchmark's baseline.
    PLAN_LIMITS: z.enum(['on', 'off']).default('on'),
    // One usage event per proxied request, reported to billing in batches; `off` is the benchmark's baseline.
    USAGE_METERING: z.enum(['on', 'off']).default('on'),
    USAGE_FLUSH_MS: positiveInt.default(1_000),
    // What the durable buffer holds while billing is down (a Redis stream with REDIS_URL, else files under
    // USAGE_SPOOL_DIR); beyond it events are dropped and counted.
    USAGE_BUFFER_MAX_EVENTS: positiveInt.default(10_000_000),
    USAGE_SPOOL_DIR: z.string().min(1).default('.data/usage-spool'),
    // Who may read the gateway's /metrics and /health/services: loopback and private networks by default.
    OPS_ALLOW_FROM: z
      .string()
      .default('127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7')
      .transform((value, ctx) => {
        const networks = value
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean);
        for (const network of networks) {
          const [address, bits] = network.split('/');
          if (!address || isIP(address) === 0 || !/^\d+$/.test(bits ?? ''))
            ctx.addIssue({ code: 'custom', message: `${network} is not a network such as 10.0.0.0/8` });
        }
        return networks;
      }),
  })
  .transform((env) => ({
    gateway: {
      rateLimitPerKey: env.RATE_LIMIT_PER_KEY,
      rateLimitPerIp: env.RATE_LIMIT_PER_IP,
      rateLimitWindowMs: env.RATE_LIMIT_WINDOW_MS,
      apiKeyCacheMs: env.API_KEY_CACHE_MS,
      apiKeyUsageFlushMs: env.API_KEY_USAGE_FLUSH_MS,
      planLimits: env.PLAN_LIMITS === 'on',
      usage: {
        metering: env.USAGE_METERING === 'on',
        flushMs: env.USAGE_FLUSH_MS,
        bufferMaxEvents: env.USAGE_BUFFER_MAX_EVENTS,
        spoolDir: env.USAGE_SPOOL_DIR,
      },
      opsAllowFrom: env.OPS_ALLOW_FROM,
    },
  }));

/** Bulk imports (the services that own an importable entity: client, CRM). */
const importSettings = z
  .object({
    IMPORT_MAX_BYTES: positiveInt.default(100 * 1024 * 1024),
    // How long POST /import waits for the import to finish before answering 202; under the gateway's upstream timeout.
    IMPORT_WAIT_MS: z.coerce.number().int().min(0).max(25_000).default(10_000),
  })
  .transform((env) => ({ imports: { maxBytes: env.IMPORT_MAX_BYTES, waitMs: env.IMPORT_WAIT_MS } }));

/** Tenant provisioning and the audit log's checkpoints (admin service). */
const adminSettings = z
  .object({
    TENANT_TEMPLATE_DATABASE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier')
      .default('codex_tenant_template'),
    // Tenant databases made ahead in the background, so that creating a tenant renames one instead of copying.
    PROVISIONING_SPARES: z.coerce.number().int().min(0).max(50).default(2),
    // Signed checkpoints of the audit log's hash chain are appended here, outside the database, so that
    // removing its newest rows is detected too. Keep it where the database's operators cannot write.
    AUDIT_CHECKPOINT_FILE: z.string().min(1).default('.data/audit-checkpoints.jsonl'),
    // How often a checkpoint is written when the log has grown; 0 writes them only when asked (the API).
    AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
    // A deleted tenant can be restored this long; then the purge job drops its database and role.
    TENANT_DELETE_GRACE_HOURS: z.coerce
      .number()
      .min(0)
      .max(24 * 365)
      .default(168),
    // Tenants the default database server (DATABASE_URL's) is sized for: new tenants go to the server with
    // the most room, this weighed against registered servers' capacity.
    DB_SERVER_CAPACITY: positiveInt.default(1_000),
    // The largest tenant archive (gzip) POST /api/v1/admin/tenants/import takes.
    TENANT_ARCHIVE_MAX_BYTES: positiveInt.default(4 * 1024 * 1024 * 1024),
    // The admin service's scheduled jobs (the tenant purge) run in this process; `off` for an instance that
    // should not. They are coordinated through PostgreSQL, so any number of instances may run them.
    ADMIN_JOBS: z.enum(['on', 'off']).default('on'),
    // How often the service registry polls every service's /health (0: not at all, e.g. on a second instance).
    // Every 5 s: with the console's 5 s refresh, a service that dies shows red within 10 s.
    SERVICE_POLL_MS: z.coerce.number().int().min(0).default(5_000),
    // Told of a service going down or coming back, a breaker opening or a database server unreachable: a JSON POST, retried.
    ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
    // The webhook's host may resolve to a private, loopback or link-local address only when this is `true`.
    ALERT_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  })
  .transform((env) => ({
    provisioning: { templateDatabase: env.TENANT_TEMPLATE_DATABASE, spares: env.PROVISIONING_SPARES, defaultServerCapacity: env.DB_SERVER_CAPACITY },
    audit: { checkpointFile: env.AUDIT_CHECKPOINT_FILE, checkpointIntervalMs: env.AUDIT_CHECKPOINT_INTERVAL_MS },
    lifecycle: { deleteGraceMs: env.TENANT_DELETE_GRACE_HOURS * 3_600_000, jobs: env.ADMIN_JOBS === 'on', archiveMaxBytes: env.TENANT_ARCHIVE_MAX_BYTES },
    registry: {
      pollMs: env.SERVICE_POLL_MS,
      alertWebhookUrl: env.ALERT_WEBHOOK_URL,
      alertWebhookAllowPrivate: env.ALERT_WEBHOOK_ALLOW_PRIVATE === 'true',
    },
  }));

/** Usage metering and invoicing (billing service). */
const billingSettings = z
  .object({
    // Raw usage events are kept this many whole months besides the current one (aggregates are kept always).
    USAGE_RETENTION_MONTHS: z.coerce.number().int().min(1).max(120).default(13),
    // The billing jobs (partitions ahead, retention, period close) run in this process; `off` for a
    // read-only instance. They are coordinated through PostgreSQL, so any number of instances may run them.
    BILLING_JOBS: z.enum(['on', 'off']).default('on'),
    // Another Stripe API host (a stand-in, a proxy); Stripe's own when unset.
    STRIPE_API_BASE: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
    STRIPE_TIMEOUT_MS: positiveInt.default(30_000),
    // A Stripe payment still pending this long (its process died before it learnt the outcome) is asked about again.
    PAYMENT_RECONCILE_AFTER_SECONDS: positiveInt.default(60),
    // Dunning: days after an invoice is due that a failed charge is tried again, and days overdue before the
    // tenant is suspended.
    DUNNING_RETRY_DAYS: z
      .string()
      .regex(/^\d{1,3}(,\d{1,3})*$/, 'must be days such as 1,3,7')
      .default('1,3,7')
      .transform((value) => value.split(',').map(Number))
      // Each listed day is one retry: a repeated or backward day would retry twice on one day.
      .refine((days) => days.every((day, i) => i === 0 || day > days[i - 1]!), 'must be days in increasing order, each once'),
    DUNNING_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(14),
    // Who the platform's invoices are from, as printed on them.
    INVOICE_ISSUER: z.string().trim().min(1).max(200).default('Codex Metatron'),
  })
  .transform((env) => ({
    billing: {
      usageRetentionMonths: env.USAGE_RETENTION_MONTHS,
      jobs: env.BILLING_JOBS === 'on',
      stripeApiBase: env.STRIPE_API_BASE,
      stripeTimeoutMs: env.STRIPE_TIMEOUT_MS,
      reconcileAfterSeconds: env.PAYMENT_RECONCILE_AFTER_SECONDS,
      dunningRetryDays: env.DUNNING_RETRY_DAYS,
      dunningGraceDays: env.DUNNING_GRACE_DAYS,
      invoiceIssuer: env.INVOICE_ISSUER,
    },
  }));

const noSettings = z.object({}).transform(() => ({}));

/** Which variables each service reads beyond the base: each schema is a shared piece, composed here. */
const SERVICE_SETTINGS = {
  gateway: gatewaySettings,
  auth: authSettings,
  billing: billingSettings,
  subscription: noSettings,
  crm: importSettings,
  client: importSettings,
  admin: adminSettings,
} satisfies Record<ServiceName, z.ZodType>;

/** The settings only service `S` reads (`config.auth`, `config.gateway`, `config.imports`, `config.provisioning`). */
export type ServiceSettings<S extends ServiceName> = z.output<(typeof SERVICE_SETTINGS)[S]>;

/** The variables each service reads, by name (the README's environment table is checked against it). */
export function variablesOf(service: ServiceName): string[] {
  const own = SERVICE_SETTINGS[service];
  const shape = (schema: z.ZodType) => Object.keys(((schema as z.ZodPipe).in as z.ZodObject | undefined)?.shape ?? (schema as z.ZodObject).shape ?? {});
  return [...Object.keys(baseSchema.shape), ...shape(own)];
}

export interface BaseServiceConfig {
  env: 'development' | 'test' | 'production';
  logLevel: LogLevel;
  host: string;
  port: number;
  databaseUrl: string;
  dbPoolSize: number;
  /** `warm`: how many of the most recently active tenants get a connection opened at start. */
  tenantPool: { maxPools: number; maxConnections: number; poolSize: number; idleMs: number; warm: number };
  serviceJwtSecret: string;
  /** Keys for SecretBox: the first seals, all open (rotation). */
  secretKeys: SecretKey[];
  corsOrigins: string[];
  bodyLimit: string;
  upstreamTimeoutMs: number;
  shutdownTimeoutMs: number;
  redisUrl?: string;
  /** Namespace of this install's keys in a shared Redis. */
  redisPrefix: string;
  /** Express `trust proxy`: which hops may set X-Forwarded-For (nginx on loopback by default). */
  trustProxy: boolean | number | string;
  /** Base URL of every service, for ServiceClient and health polling. */
  serviceUrls: Record<ServiceName, string>;
  /** Who started this process (npm start sets it), shown in /health. */
  instanceId?: string;
}

/** A service's configuration: the base every service reads, plus its own settings. */
export type ServiceConfig<S extends ServiceName = ServiceName> = S extends ServiceName ? BaseServiceConfig & { service: S } & ServiceSettings<S> : never;

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`).join('; ');
}

/**
 * Parses `env` with a zod schema; throws ConfigError naming each bad variable.
 * Services with variables of their own call this with their schema.
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: Env): z.infer<T> {
  // An empty variable counts as unset, as shells and compose files commonly produce them.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) throw new ConfigError(`Invalid configuration: ${formatIssues(result.error)}`);
  return result.data;
}

/**
 * Reads the configuration every service shares. Nothing else reads
 * `process.env`. In production the service JWT secret must be set; in
 * development and tests a fixed development secret is used.
 */
export function loadConfig<S extends ServiceName>(service: S, env: Env = process.env): ServiceConfig<S> {
  const portsSchema = z.object(
    Object.fromEntries(
      SERVICE_NAMES.flatMap((name) => [
        [`${envPrefix(name)}_PORT`, port.default(SERVICE_PORTS[name])],
        [`${envPrefix(name)}_URL`, z.url().optional()],
      ]),
    ),
  );
  const base = parseEnv(baseSchema, env);
  const settings = parseEnv(SERVICE_SETTINGS[service], env) as ServiceSettings<S>;
  const ports = parseEnv(portsSchema, env) as Record<string, number | string | undefined>;

  if (base.NODE_ENV === 'production') {
    const missing = (['SERVICE_JWT_SECRET', 'SECRETS_KEYS'] as const).filter((name) => !base[name]);
    if (missing.length > 0) throw new ConfigError(`Invalid configuration: ${missing.join(', ')} required in production`);
  }

  const serviceUrls = Object.fromEntries(
    SERVICE_NAMES.map((name) => {
      const explicit = ports[`${envPrefix(name)}_URL`] as string | undefined;
      const namePort = ports[`${envPrefix(name)}_PORT`] as number;
      return [name, (explicit ?? `http://127.0.0.1:${namePort}`).replace(/\/$/, '')];
    }),
  ) as Record<ServiceName, string>;

  return {
    service,
    env: base.NODE_ENV,
    logLevel: base.LOG_LEVEL,
    host: base.HOST,
    port: ports[`${envPrefix(service)}_PORT`] as number,
    databaseUrl: base.DATABASE_URL,
    dbPoolSize: base.DB_POOL_SIZE,
    tenantPool: {
      maxPools: base.TENANT_POOL_MAX_POOLS,
      maxConnections: base.TENANT_POOL_MAX_CONNECTIONS,
      poolSize: base.TENANT_POOL_SIZE,
      idleMs: base.TENANT_POOL_IDLE_MS,
      warm: base.TENANT_POOL_WARM,
    },
    serviceJwtSecret: base.SERVICE_JWT_SECRET ?? DEV_SERVICE_JWT_SECRET,
    secretKeys: base.SECRETS_KEYS ?? parseSecretKeys(DEV_SECRETS_KEYS),
    corsOrigins: base.CORS_ORIGINS,
    bodyLimit: base.BODY_LIMIT,
    upstreamTimeoutMs: base.UPSTREAM_TIMEOUT_MS,
    shutdownTimeoutMs: base.SHUTDOWN_TIMEOUT_MS,
    redisUrl: base.REDIS_URL,
    redisPrefix: base.REDIS_PREFIX,
    trustProxy: base.TRUST_PROXY,
    serviceUrls,
    instanceId: base.INSTANCE_ID,
    ...settings,
  } as ServiceConfig<S>;
}

const launcherSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: port.default(54320),
  ADMIN_EMAIL: z.email().default('admin@codex.local'),
  ADMIN_PASSWORD: z
    .string()
    .min(12, 'must be at least 12 characters')
    .refine((value) => Buffer.byteLength(value) <= 72, 'must be at most 72 bytes')
    .optional(),
  BCRYPT_COST: z.coerce.number().int().min(10).max(15).default(12),
  LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('http'),
  PG_BIN: z.string().min(1).optional(),
  CONSOLE: z.enum(['production', 'dev', 'off']).default('production'),
  CONSOLE_PORT: port.default(3100),
});

/** Settings of the operator commands (`npm start`, `npm run migrate`). */
export interface LauncherConfig {
  /** An existing server; when unset, an embedded PostgreSQL is started under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  embeddedPgPort: number;
  adminEmail: string;
  adminPassword?: string;
  bcryptCost: number;
  logLevel: LogLevel;
  /** Directory of PostgreSQL's client tools (pg_dump, pg_restore) when they are not on PATH. */
  pgBin?: string;
  /** The admin console (admin-ui): a production build (made on first start), Next's dev server, or not started. */
  console: 'production' | 'dev' | 'off';
  consolePort: number;
}

export function loadLauncherConfig(env: Env = process.env): LauncherConfig {
  const parsed = parseEnv(launcherSchema, env);
  return {
    databaseUrl: parsed.DATABASE_URL,
    dataDir: parsed.DATA_DIR,
    embeddedPgPort: parsed.EMBEDDED_PG_PORT,
    adminEmail: parsed.ADMIN_EMAIL,
    adminPassword: parsed.ADMIN_PASSWORD,
    bcryptCost: parsed.BCRYPT_COST,
    logLevel: parsed.LOG_LEVEL,
    pgBin: parsed.PG_BIN,
    console: parsed.CONSOLE,
    consolePort: parsed.CONSOLE_PORT,
  };
}
