import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { cpus } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import bcrypt from 'bcrypt';
import pg from 'pg';
import type autocannon from 'autocannon';
import {
  closeServiceDeps,
  createLogger,
  createServiceDeps,
  createServiceTokenSigner,
  Entitlements,
  evaluateFlag,
  loadConfig,
  loadLauncherConfig,
  MACHINE_PASSWORD_SCRAM_ITERATIONS,
  migratePlatform,
  scramSecret,
  withDatabase,
  type ServiceDeps,
} from '@codex/shared';
import { moveTenant, provisionTenant, registerDatabaseServer, SpareDatabases, type StepHook } from '@codex/admin';
import { buildClientListQuery, type ClientQuery } from '@codex/client';
import { openPlatformDatabase, type PlatformDatabase } from '../scripts/lib/database';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { localSecrets } from '../scripts/lib/local-secrets';
import { findNginx, startNginx } from '../scripts/lib/nginx';
import { node24Binary, nodeOfMajor } from '../scripts/lib/node-runtimes';
import { closedPortUrl, freePort } from '../test/support/listen';
import { dropProvisionedTenants } from '../test/support/tenants';
import { printProfiles } from './cpu-profile';
import { CONNECTIONS, indexPicker, load, printTable, ratio, seededRandom, startProcess, type LoadResult, type Measurement, type Running } from './harness';

/**
 * `npm run bench [-- <scenario> …] [-- --duration=N]`: starts what each
 * scenario needs, loads it with autocannon, and prints req/s, p50/p99 and
 * errors with ratios against references measured in the same run.
 */

const DURATION = Number(process.argv.find((a) => a.startsWith('--duration='))?.split('=')[1] ?? 10);
const BCRYPT_COST = 10;

interface Context {
  /** The Node binary the started processes run on (the load generator stays on this one). */
  node: string;
  masterUrl: string;
  env: Record<string, string>;
  deps: ServiceDeps<'admin'>;
  cleanup: Array<() => Promise<void>>;
}

/** With `--profile`, every process the bench starts writes a V8 CPU profile here, summarized at the end. */
const PROFILE_DIR = process.argv.includes('--profile') ? path.resolve('.data', 'bench-profiles', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;

async function start(ctx: Context, entry: string, env: Record<string, string> = {}): Promise<Running> {
  const profiling: Record<string, string> = PROFILE_DIR
    ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.join(PROFILE_DIR, entry.replace(/\.ts$/, '').replaceAll('/', '-'))}` }
    : {};
  const running = await startProcess(entry, { ...ctx.env, ...env, ...profiling }, ctx.node);
  ctx.cleanup.push(() => running.stop());
  return running;
}

/**
 * Auth and a gateway in front of it, with billing up as in production: the gateway meters every
 * tenant request and sends the events to billing in batches (with billing away it would spool and
 * replay them, which is the outage path the metering scenario measures).
 */
async function startAuthAndGateway(ctx: Context, authEnv: Record<string, string> = {}): Promise<{ auth: Running; gateway: Running }> {
  const auth = await start(ctx, 'services/auth/src/main.ts', { AUTH_PORT: '0', ...authEnv });
  const billing = await start(ctx, 'services/billing/src/main.ts', { BILLING_PORT: '0' });
  const gateway = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', AUTH_URL: auth.url, BILLING_URL: billing.url });
  return { auth, gateway };
}

async function nginxInFrontOf(ctx: Context, upstream: string) {
  if (!findNginx()) return undefined;
  const nginx = await startNginx({ httpPort: Number(new URL(await closedPortUrl()).port), gateways: [new URL(upstream).host], withoutRateLimits: true });
  ctx.cleanup.push(() => nginx.stop());
  return nginx;
}

async function newTenant(ctx: Context, afterStep?: StepHook, spares?: SpareDatabases) {
  return provisionTenant(
    {
      db: ctx.deps.db,
      serverUrl: ctx.masterUrl,
      templateDatabase: ctx.deps.config.provisioning.templateDatabase,
      secrets: ctx.deps.secrets,
      logger: ctx.deps.logger,
      spares,
      settings: ctx.deps.platformConfig,
    },
    { slug: `bench-${randomBytes(5).toString('hex')}`, name: 'bench', plan: 'free' },
    afterStep,
  );
}

/** The service JWT the gateway would send to `audience` for a tenant's owner (requests straight to a service). */
function asOwner(ctx: Context, audience: 'auth' | 'client', tenantId: string, userId: string): string {
  return `Bearer ${createServiceTokenSigner('gateway', ctx.env.SERVICE_JWT_SECRET!).sign(audience, { tenantId, userId, roles: ['owner'] })}`;
}

async function signUp(gateway: string, key: string): Promise<{ accessToken: string; user: { id: string }; email: string }> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const response = await fetch(`${gateway}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
    body: JSON.stringify({ email, password: 'bench password 123' }),
  });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  return { ...((await response.json()) as { accessToken: string; user: { id: string } }), email };
}

/** Peak resident memory of a process so far (Linux), in MiB. */
/** A process's resident memory now (`VmRSS`) or at its peak (`VmHWM`), in MiB. */
async function memoryMiB(pid: number, which: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(new RegExp(`${which}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024);
}

/** Calls per second of `fn` over about `ms` milliseconds, after a warm-up, and the time of one call in µs. */
async function perCall(fn: () => unknown, ms = 1_000): Promise<{ perSecond: number; micros: number }> {
  for (let i = 0; i < 10_000; i += 1) await fn();
  let calls = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 1_000; i += 1) await fn();
    calls += 1_000;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: Math.round(calls / seconds), micros: (seconds * 1e6) / calls };
}

const SCENARIOS: Record<string, { description: string; run(ctx: Context): Promise<Measurement[]> }> = {
  plans: {
    description: 'flag evaluation and the plan lookup per request, in process, with the cached entitlements (target < 5 µs)',
    async run(ctx) {
      const tenant = await newTenant(ctx);
      const tenantId = tenant.tenant.id;
      for (let i = 0; i < 20; i += 1)
        await ctx.deps.db.query(
          `INSERT INTO feature_flags (key, rollout, variants) VALUES ($1, '{"percentage": 30, "stickiness": "tenant"}', '[{"name":"a","weight":50},{"name":"b","weight":50}]') ON CONFLICT DO NOTHING`,
          [`bench.flag-${i}`],
        );
      ctx.cleanup.push(async () => {
        await ctx.deps.db.query(`DELETE FROM feature_flags WHERE key LIKE 'bench.flag-%'`);
      });
      const entitlements = new Entitlements(ctx.deps.db, { pollMs: 60_000 });
      ctx.cleanup.push(async () => entitlements.close());
      const inForce = (await entitlements.of(tenantId))!;
      const flag = (await entitlements.allFlags()).find((f) => f.key === 'bench.flag-0')!;
      const context = { tenantId, planCode: inForce.plan.code, planFeatures: inForce.plan.features };
      const one = await perCall(() => evaluateFlag(flag, context));
      const feature = await perCall(() => entitlements.hasFeature(tenantId, 'bench.flag-7'));
      const lookup = await perCall(() => entitlements.of(tenantId));
      const row = (target: string, measured: { perSecond: number; micros: number }): Measurement => ({
        scenario: 'plans',
        target,
        requestsPerSecond: measured.perSecond,
        p50: 0,
        p99: 0,
        errors: 0,
        ratio: `${(measured.micros / 5).toFixed(2)}× of 5 µs`,
        note: `${measured.micros.toFixed(2)} µs per call (calls/s in the req/s column)`,
      });
      // The authenticated GET through a gateway enforcing plans and one that does not, same auth service and tenant.
      const auth = await start(ctx, 'services/auth/src/main.ts', { AUTH_PORT: '0' });
      const enforcing = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', AUTH_URL: auth.url });
      const plain = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', AUTH_URL: auth.url, PLAN_LIMITS: 'off' });
      const user = await signUp(enforcing.url, tenant.apiKey.key);
      const headers = { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` };
      const off = await load({ url: `${plain.url}/api/v1/auth/me`, headers, durationSeconds: DURATION });
      const on = await load({ url: `${enforcing.url}/api/v1/auth/me`, headers, durationSeconds: DURATION });
      const fixed = { durationSeconds: DURATION, overallRate: 500, connections: 20 };
      const offFixed = await load({ url: `${plain.url}/api/v1/auth/me`, headers, ...fixed });
      const onFixed = await load({ url: `${enforcing.url}/api/v1/auth/me`, headers, ...fixed });
      return [
        { scenario: 'plans', target: 'GET /auth/me, gateway PLAN_LIMITS=off', ...off },
        { scenario: 'plans', target: 'GET /auth/me, gateway enforcing the plan', ...on, ratio: ratio(on.requestsPerSecond, off.requestsPerSecond) },
        { scenario: 'plans @500/s', target: 'GET /auth/me, gateway PLAN_LIMITS=off', ...offFixed },
        {
          scenario: 'plans @500/s',
          target: 'GET /auth/me, gateway enforcing the plan',
          ...onFixed,
          note: `p99 ${onFixed.p99 - offFixed.p99 >= 0 ? '+' : ''}${(onFixed.p99 - offFixed.p99).toFixed(2)} ms`,
        },
        row('evaluateFlag, one flag (rollout + variants)', one),
        row('hasFeature via the cached evaluator (20 flags)', feature),
        row("the gateway's plan lookup per request (cached)", lookup),
      ];
    },
  },
  health: {
    description: "a service's /health vs a bare node:http server answering the same JSON",
    async run(ctx) {
      const crm = await start(ctx, 'services/crm/src/main.ts', { CRM_PORT: '0' });
      const bare = await start(ctx, 'bench/bare-server.ts');
      const service = await load({ url: `${crm.url}/health`, durationSeconds: DURATION });
      const reference = await load({ url: `${bare.url}/`, durationSeconds: DURATION });
      return [
        { scenario: 'health', target: 'bare node:http (reference)', ...reference },
        { scenario: 'health', target: 'crm service /health', ...service, ratio: ratio(service.requestsPerSecond, reference.requestsPerSecond) },
      ];
    },
  },

  proxy: {
    description: 'the gateway proxying to a service vs nginx proxying to it (upstream keep-alive), public route',
    async run(ctx) {
      const crm = await start(ctx, 'services/crm/src/main.ts', { CRM_PORT: '0' });
      const gateway = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', CRM_URL: crm.url });
      const route = '/api/v1/crm/health';
      const rows: Measurement[] = [{ scenario: 'proxy', target: 'crm directly', ...(await load({ url: `${crm.url}${route}`, durationSeconds: DURATION })) }];
      const viaGateway = await load({ url: `${gateway.url}${route}`, durationSeconds: DURATION });
      // The design card's http-proxy-middleware against the undici pool the gateway now uses, each alone in
      // Express, in the order A B B A so that a drift of the machine over the run favours neither.
      const libraries: Array<[string, LoadResult]> = [];
      for (const library of ['hpm', 'undici', 'undici', 'hpm'] as const) {
        const proxy = await start(ctx, 'bench/proxy-server.ts', { UPSTREAM_URL: crm.url, PROXY_LIBRARY: library });
        const label = library === 'hpm' ? 'Express + http-proxy-middleware → crm' : 'Express + undici Pool → crm';
        libraries.push([label, await load({ url: `${proxy.url}${route}`, durationSeconds: DURATION })]);
        await proxy.stop();
      }
      const nginx = await nginxInFrontOf(ctx, crm.url);
      const viaNginx = nginx ? await load({ url: `${nginx.url}${route}`, durationSeconds: DURATION }) : undefined;
      if (viaNginx) rows.push({ scenario: 'proxy', target: 'nginx → crm (reference)', ...viaNginx });
      for (const [target, result] of [...libraries, ['gateway → crm', viaGateway] as [string, LoadResult]]) {
        rows.push(
          viaNginx
            ? { scenario: 'proxy', target, ...result, ratio: ratio(result.requestsPerSecond, viaNginx.requestsPerSecond) }
            : { scenario: 'proxy', target, ...result, note: 'nginx not installed: no reference' },
        );
      }
      return rows;
    },
  },

  'auth-get': {
    description: 'authenticated GET (API key + JWT → auth /me → tenant DB) through the gateway vs nginx vs direct with a service JWT',
    async run(ctx) {
      const { auth, gateway } = await startAuthAndGateway(ctx);
      const tenant = await newTenant(ctx);
      const user = await signUp(gateway.url, tenant.apiKey.key);
      const route = '/api/v1/auth/me';
      const serviceHeaders = () => ({
        Authorization: asOwner(ctx, 'auth', tenant.tenant.id, user.user.id),
      });
      const gatewayHeaders = { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` };
      const rows: Measurement[] = [
        {
          scenario: 'auth-get',
          target: 'auth directly (service JWT)',
          ...(await load({ url: `${auth.url}${route}`, headers: serviceHeaders(), durationSeconds: DURATION })),
        },
      ];
      const viaGateway = await load({ url: `${gateway.url}${route}`, headers: gatewayHeaders, durationSeconds: DURATION });
      const nginx = await nginxInFrontOf(ctx, auth.url);
      if (!nginx)
        return [...rows, { scenario: 'auth-get', target: 'gateway (full pipeline) → auth', ...viaGateway, note: 'nginx not installed: no reference' }];
      const viaNginx = await load({ url: `${nginx.url}${route}`, headers: serviceHeaders(), durationSeconds: DURATION });
      rows.push({ scenario: 'auth-get', target: 'nginx → auth (reference)', ...viaNginx });
      rows.push({
        scenario: 'auth-get',
        target: 'gateway (full pipeline) → auth',
        ...viaGateway,
        ratio: ratio(viaGateway.requestsPerSecond, viaNginx.requestsPerSecond),
      });
      // At a fixed rate, open-loop, each run after the one before has drained: the reference, then the gateway.
      const atRate = async (rate: number, reference: { label: string; url: string }, note = '') => {
        const fixed = { durationSeconds: DURATION, overallRate: rate, connections: 20 };
        await delay(2_000);
        const referenceRun = await load({ url: `${reference.url}${route}`, headers: serviceHeaders(), ...fixed });
        await delay(2_000);
        const gatewayRun = await load({ url: `${gateway.url}${route}`, headers: gatewayHeaders, ...fixed });
        rows.push({ scenario: `auth-get @${rate}/s`, target: `${reference.label}, open-loop`, ...referenceRun });
        rows.push({
          scenario: `auth-get @${rate}/s`,
          target: 'gateway (full pipeline) → auth, open-loop',
          ...gatewayRun,
          note: `p50 +${(gatewayRun.p50 - referenceRun.p50).toFixed(2)} ms${note}`,
        });
      };
      // The latency the pipeline adds at a rate it can sustain, against the service itself; then the seed's rate.
      await atRate(500, { label: 'auth directly (service JWT)', url: auth.url }, '; #13 asks < 1 ms');
      await atRate(1_000, { label: 'nginx → auth (reference)', url: nginx.url });
      return rows;
    },
  },

  cluster: {
    description:
      'the gateway as one process and as two node:cluster workers (what PM2 cluster mode runs, limits shared through Redis when REDIS_URL is set), in front of the same auth, vs nginx',
    async run(ctx) {
      const redis: Record<string, string> = process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {};
      const auth = await start(ctx, 'services/auth/src/main.ts', { AUTH_PORT: '0' });
      const billing = await start(ctx, 'services/billing/src/main.ts', { BILLING_PORT: '0' });
      const gatewayEnv = { AUTH_URL: auth.url, BILLING_URL: billing.url, ...redis };
      const one = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', ...gatewayEnv });
      const two = await start(ctx, 'bench/cluster-gateway.ts', {
        GATEWAY_PORT: String(await freePort()),
        GATEWAY_WORKERS: '2',
        LOG_LEVEL: 'warn',
        ...gatewayEnv,
      });
      const tenant = await newTenant(ctx);
      const user = await signUp(one.url, tenant.apiKey.key);
      const route = '/api/v1/auth/me';
      const headers = { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` };
      const shared = redis.REDIS_URL ? 'limits shared through Redis' : 'no REDIS_URL: each worker counts its own limits';
      const rows: Measurement[] = [];
      const nginx = await nginxInFrontOf(ctx, auth.url);
      const reference = nginx
        ? await load({
            url: `${nginx.url}${route}`,
            headers: {
              Authorization: asOwner(ctx, 'auth', tenant.tenant.id, user.user.id),
            },
            durationSeconds: DURATION,
          })
        : undefined;
      if (reference) rows.push({ scenario: 'cluster', target: 'nginx → auth (reference)', ...reference });
      // One, two, two, one: the box's drift favours neither.
      const runs: Array<[string, Running]> = [
        ['gateway, 1 process', one],
        ['gateway, 2 cluster workers', two],
        ['gateway, 2 cluster workers', two],
        ['gateway, 1 process', one],
      ];
      for (const [target, gateway] of runs) {
        await delay(2_000);
        const result = await load({ url: `${gateway.url}${route}`, headers, durationSeconds: DURATION });
        rows.push({
          scenario: 'cluster',
          target,
          ...result,
          ...(reference ? { ratio: ratio(result.requestsPerSecond, reference.requestsPerSecond) } : {}),
          ...(target.includes('cluster') ? { note: shared } : {}),
        });
      }
      return rows;
    },
  },

  'client-list': {
    description:
      'GET /api/v1/client/clients?limit=20 of a tenant with 10,000 clients: the client service directly and through the gateway, closed-loop and at a fixed 1,000 req/s (open-loop)',
    async run(ctx) {
      const tenant = await newTenant(ctx);
      const tenantDb = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, tenant.tenant.dbName!) });
      await tenantDb.connect();
      ctx.cleanup.push(() => tenantDb.end());
      await tenantDb.query(
        `INSERT INTO clients (name, email, status, tags, created_at)
         SELECT 'Client ' || g, 'c' || g || '@example.com', (ARRAY['lead','active','inactive'])[1 + g % 3], ARRAY['eu'], now() - make_interval(secs => g)
           FROM generate_series(1, 10000) g`,
      );
      await tenantDb.query('ANALYZE clients');
      // The client and CRM services call each other, so the client service's address is chosen first.
      const clientUrl = await closedPortUrl();
      const crm = await start(ctx, 'services/crm/src/main.ts', { CRM_PORT: '0', CLIENT_URL: clientUrl });
      const client = await start(ctx, 'services/client/src/main.ts', { CLIENT_PORT: new URL(clientUrl).port, CRM_URL: crm.url });
      const auth = await start(ctx, 'services/auth/src/main.ts', { AUTH_PORT: '0' });
      const billing = await start(ctx, 'services/billing/src/main.ts', { BILLING_PORT: '0' });
      const gateway = await start(ctx, 'gateway/src/main.ts', {
        GATEWAY_PORT: '0',
        AUTH_URL: auth.url,
        CLIENT_URL: client.url,
        CRM_URL: crm.url,
        BILLING_URL: billing.url,
      });
      const user = await signUp(gateway.url, tenant.apiKey.key);
      const route = '/api/v1/client/clients?limit=20';
      const direct = {
        Authorization: asOwner(ctx, 'client', tenant.tenant.id, user.user.id),
      };
      const viaGateway = { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` };
      const directRun = await load({ url: `${client.url}${route}`, headers: direct, durationSeconds: DURATION });
      await delay(2_000);
      const gatewayRun = await load({ url: `${gateway.url}${route}`, headers: viaGateway, durationSeconds: DURATION });
      const fixed = { durationSeconds: DURATION, overallRate: 1_000, connections: 20 };
      await delay(2_000);
      const directFixed = await load({ url: `${client.url}${route}`, headers: direct, ...fixed });
      await delay(2_000);
      const gatewayFixed = await load({ url: `${gateway.url}${route}`, headers: viaGateway, ...fixed });
      return [
        { scenario: 'client-list', target: 'client service directly (service JWT)', ...directRun },
        {
          scenario: 'client-list',
          target: 'gateway (full pipeline) → client',
          ...gatewayRun,
          ratio: ratio(gatewayRun.requestsPerSecond, directRun.requestsPerSecond),
          note: '#13 asks ≥ 1,000 req/s, p99 < 50 ms',
        },
        { scenario: 'client-list @1000/s', target: 'client service directly, open-loop', ...directFixed },
        { scenario: 'client-list @1000/s', target: 'gateway (full pipeline) → client, open-loop', ...gatewayFixed, note: '#13 asks ≥ 990/s, p99 < 50 ms' },
      ];
    },
  },

  login: {
    description: 'login throughput vs cores ÷ one bcrypt hash time, and /me p99 idle vs under login load',
    async run(ctx) {
      const { gateway } = await startAuthAndGateway(ctx);
      const tenant = await newTenant(ctx);
      const user = await signUp(gateway.url, tenant.apiKey.key);
      const hash = await bcrypt.hash('bench password 123', BCRYPT_COST);
      const started = performance.now();
      for (let i = 0; i < 10; i += 1) await bcrypt.compare('bench password 123', hash);
      const hashMs = (performance.now() - started) / 10;
      const ceiling = cpus().length / (hashMs / 1000);
      const me = {
        url: `${gateway.url}/api/v1/auth/me`,
        headers: { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` },
        overallRate: 200,
        connections: 10,
        durationSeconds: DURATION,
      };
      const logins = {
        url: `${gateway.url}/api/v1/auth/login`,
        method: 'POST' as const,
        headers: { 'Content-Type': 'application/json', 'X-API-Key': tenant.apiKey.key },
        body: JSON.stringify({ email: user.email, password: 'bench password 123' }),
        connections: 16,
        durationSeconds: DURATION,
      };
      const alone = await load(logins);
      const idle = await load(me);
      const mixedLogins = load({ ...logins, warmupSeconds: 0 });
      const busy = await load({ ...me, warmupSeconds: 0 });
      const mixed = await mixedLogins;
      const note = `bcrypt cost ${BCRYPT_COST}: ${hashMs.toFixed(1)} ms/hash → ceiling ${ceiling.toFixed(0)}/s on ${cpus().length} cores`;
      return [
        { scenario: 'login', target: 'POST /auth/login via gateway, alone', ...alone, ratio: ratio(alone.requestsPerSecond, ceiling), note },
        { scenario: 'login', target: 'GET /auth/me @200/s, idle', ...idle },
        { scenario: 'login', target: 'GET /auth/me @200/s, during login load', ...busy, ratio: `p99 ${ratio(busy.p99, Math.max(idle.p99, 1))}` },
        { scenario: 'login', target: 'POST /auth/login, during the /me load', ...mixed, ratio: ratio(mixed.requestsPerSecond, ceiling) },
      ];
    },
  },

  provisioning: {
    description: 'creating one tenant (role, database, lock-down, migrations, key) vs a bare CREATE DATABASE … TEMPLATE of the same template',
    async run(ctx) {
      const ROUNDS = 30;
      const tenantsInARow = Number(process.argv.find((a) => a.startsWith('--provision='))?.split('=')[1] ?? ROUNDS);
      const template = ctx.deps.config.provisioning.templateDatabase;
      await newTenant(ctx); // builds the template when it is missing or stale, outside the timing
      const admin = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, 'postgres') });
      await admin.connect();
      // The copies are kept until the end, as tenants' are: PostgreSQL copies faster into a server
      // whose last database was just dropped than into one that keeps growing.
      const bare: number[] = [];
      try {
        for (let i = 0; i < ROUNDS; i += 1) {
          const started = performance.now();
          await admin.query(`CREATE DATABASE bench_bare_copy_${i} TEMPLATE ${template}`);
          bare.push(performance.now() - started);
        }
      } finally {
        for (let i = 0; i < ROUNDS; i += 1) await admin.query(`DROP DATABASE IF EXISTS bench_bare_copy_${i}`);
        await admin.end();
      }
      const whole: number[] = [];
      const steps = new Map<string, number>();
      const allStarted = performance.now();
      for (let i = 0; i < tenantsInARow; i += 1) {
        let last = performance.now();
        const started = last;
        await newTenant(ctx, (step) => {
          const now = performance.now();
          steps.set(step, (steps.get(step) ?? 0) + (now - last));
          last = now;
        });
        whole.push(performance.now() - started);
      }
      const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
      const row = (target: string, values: number[], extra: Partial<Measurement> = {}): Measurement => {
        const sorted = [...values].sort((a, b) => a - b);
        return {
          scenario: 'provisioning',
          target,
          requestsPerSecond: 0,
          p50: Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10,
          p99: Math.round(sorted[sorted.length - 1]! * 10) / 10,
          errors: 0,
          ...extra,
        };
      };
      const allSeconds = (performance.now() - allStarted) / 1000;
      const byStep = [...steps].map(([step, total]) => `${step} ${(total / tenantsInARow).toFixed(1)}`).join(', ');

      // With spare databases (the admin service keeps PROVISIONING_SPARES of them): one tenant when a spare
      // is ready (the refill it starts is awaited outside the timing), then as many in a row as above while
      // the spares are refilled in the background, as they would be under a burst of sign-ups.
      const spares = new SpareDatabases({ serverUrl: ctx.masterUrl, templateDatabase: template, count: 2, logger: ctx.deps.logger });
      const withSpare: number[] = [];
      for (let i = 0; i < ROUNDS; i += 1) {
        spares.refill();
        await spares.idle();
        const started = performance.now();
        await newTenant(ctx, undefined, spares);
        withSpare.push(performance.now() - started);
      }
      spares.refill();
      await spares.idle();
      const burst: number[] = [];
      const burstStarted = performance.now();
      for (let i = 0; i < tenantsInARow; i += 1) {
        const started = performance.now();
        await newTenant(ctx, undefined, spares);
        burst.push(performance.now() - started);
      }
      const burstSeconds = (performance.now() - burstStarted) / 1000;
      await spares.close();

      // A new connection as a tenant's role (what a tenant-pool miss costs), with our few SCRAM rounds and
      // then with PostgreSQL's 4,096 given to the same role, in this run. Under trust authentication (the
      // machine's PostgreSQL here) no password is checked and both are the same.
      const last = await newTenant(ctx);
      const { rows } = await ctx.deps.db.query<{ db_name: string; db_role: string; db_secret: string }>(
        'SELECT db_name, db_role, db_secret FROM tenants WHERE id = $1',
        [last.tenant.id],
      );
      const { db_name: dbName, db_role: dbRole, db_secret: dbSecret } = rows[0]!;
      const password = ctx.deps.secrets.open(dbSecret);
      const connectMs = async () => {
        const times: number[] = [];
        for (let i = 0; i < ROUNDS; i += 1) {
          const client = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, dbName), user: dbRole, password });
          const started = performance.now();
          await client.connect();
          times.push(performance.now() - started);
          await client.end();
        }
        return times;
      };
      const few = await connectMs();
      const server = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, 'postgres') });
      await server.connect();
      await server.query(`ALTER ROLE ${server.escapeIdentifier(dbRole)} PASSWORD ${server.escapeLiteral(scramSecret(password, 4096))}`);
      const many = await connectMs();
      await server.query(`ALTER ROLE ${server.escapeIdentifier(dbRole)} PASSWORD ${server.escapeLiteral(scramSecret(password))}`);
      await server.end();
      return [
        row(`bare CREATE DATABASE … TEMPLATE (reference), ${ROUNDS} rounds`, bare, { note: `mean ${mean(bare).toFixed(1)} ms` }),
        row(`provision one tenant, ${tenantsInARow.toLocaleString('en')} in a row`, whole, {
          ratio: ratio(mean(whole), mean(bare)),
          note: `mean ${mean(whole).toFixed(1)} ms, all in ${allSeconds.toFixed(1)} s; mean ms up to each step: ${byStep}`,
        }),
        row(`provision one tenant, a spare database ready, ${ROUNDS} rounds`, withSpare, {
          ratio: ratio(mean(withSpare), mean(bare)),
          note: `mean ${mean(withSpare).toFixed(1)} ms; #13 asks ≤ 1.5×`,
        }),
        row(`provision one tenant, ${tenantsInARow.toLocaleString('en')} in a row, 2 spares refilled in the background`, burst, {
          ratio: ratio(mean(burst), mean(bare)),
          note: `mean ${mean(burst).toFixed(1)} ms, all in ${burstSeconds.toFixed(1)} s`,
        }),
        row(`new tenant connection, SCRAM at 4,096 rounds (PostgreSQL's default), ${ROUNDS} in a row`, many, { note: `mean ${mean(many).toFixed(2)} ms` }),
        row(`new tenant connection, SCRAM at ${MACHINE_PASSWORD_SCRAM_ITERATIONS} rounds (ours), ${ROUNDS} in a row`, few, {
          ratio: ratio(mean(few), mean(many)),
          note: `mean ${mean(few).toFixed(2)} ms; #13 asks ≤ 3 ms`,
        }),
      ];
    },
  },

  'idle-connections': {
    description: 'GET /auth/me at a fixed 500 req/s through the gateway, alone and while 10,000 idle keep-alive connections are open to it',
    async run(ctx) {
      const IDLE = 10_000;
      const { gateway } = await startAuthAndGateway(ctx);
      const tenant = await newTenant(ctx);
      const user = await signUp(gateway.url, tenant.apiKey.key);
      const steady = {
        url: `${gateway.url}/api/v1/auth/me`,
        headers: { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` },
        durationSeconds: DURATION,
        overallRate: 500,
        connections: 20,
      };
      const rssMiB = () => memoryMiB(gateway.process.child.pid!, 'VmRSS');
      const alone = await load(steady);
      const rssAlone = await rssMiB();
      // Each idle connection asks once for /health with keep-alive and then stays open, as a browser's would.
      const { host, port } = new URL(gateway.url);
      const sockets: net.Socket[] = [];
      try {
        for (let opened = 0; opened < IDLE; opened += 500) {
          await Promise.all(
            Array.from(
              { length: Math.min(500, IDLE - opened) },
              () =>
                new Promise<void>((resolve, reject) => {
                  const socket = net.connect({ host: host.split(':')[0], port: Number(port) }, () => {
                    socket.write(`GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
                  });
                  socket.once('data', () => resolve());
                  socket.once('error', reject);
                  sockets.push(socket);
                }),
            ),
          );
        }
        await delay(2_000);
        const crowded = await load(steady);
        const rssCrowded = await rssMiB();
        const open = sockets.filter((socket) => !socket.destroyed && !socket.readableEnded).length;
        return [
          { scenario: 'idle-connections', target: 'GET /auth/me @500/s via gateway, open-loop', ...alone, note: `gateway RSS ${rssAlone} MiB` },
          {
            scenario: 'idle-connections',
            target: `same, with ${IDLE.toLocaleString('en')} idle keep-alive connections open`,
            ...crowded,
            ratio: `p99 ${ratio(crowded.p99, Math.max(alone.p99, 0.01))}`,
            note: `${open.toLocaleString('en')} still open after the run; gateway RSS ${rssCrowded} MiB; #13 asks p99 within 1.5×`,
          },
        ];
      } finally {
        for (const socket of sockets) socket.destroy();
      }
    },
  },

  tenants: {
    description:
      'provisioning 1 and --tenants=N (default 1,000) tenants, then the authenticated GET for one tenant and over all N picked at random per request, uniform and Zipf (tenant pool cache)',
    async run(ctx) {
      const count = Number(process.argv.find((a) => a.startsWith('--tenants='))?.split('=')[1] ?? 1_000);
      let started = performance.now();
      await newTenant(ctx);
      const oneMs = performance.now() - started;
      started = performance.now();
      const tenants = [];
      for (let i = 0; i < count; i += 1) tenants.push(await newTenant(ctx));
      const allMs = performance.now() - started;
      // #13 allows each service up to 100 tenant backends; the server must have room for them beside
      // every other pool (PostgreSQL's default max_connections is 100, the embedded cluster's 400).
      const { rows: limits } = await ctx.deps.db.query<{ max: number }>(`SELECT current_setting('max_connections')::int AS max`);
      const tenantBackends = Number(process.env.BENCH_TENANT_BACKENDS ?? Math.max(20, Math.min(100, limits[0]!.max - 60)));
      const { gateway } = await startAuthAndGateway(ctx, {
        TENANT_POOL_MAX_CONNECTIONS: String(tenantBackends),
        TENANT_POOL_MAX_POOLS: String(tenantBackends),
      });
      const users: Array<{ key: string; token: string }> = [];
      for (let i = 0; i < tenants.length; i += 8) {
        const batch = tenants.slice(i, i + 8);
        users.push(...(await Promise.all(batch.map(async (t) => ({ key: t.apiKey.key, token: (await signUp(gateway.url, t.apiKey.key)).accessToken })))));
      }
      // Each request picks its tenant at random from a seeded generator (every connection walking the list
      // in the same order would keep a few pools warm); the single-tenant baseline runs first, in the same run.
      const meFor = (pick: () => number) => [
        {
          method: 'GET' as const,
          path: '/api/v1/auth/me',
          setupRequest: (request: autocannon.Request) => {
            const user = users[pick()]!;
            return { ...request, headers: { 'X-API-Key': user.key, Authorization: `Bearer ${user.token}` } };
          },
        },
      ];
      const single = await load({ url: gateway.url, durationSeconds: DURATION, requests: meFor(() => 0) });
      await delay(2_000);
      const spread = await load({ url: gateway.url, durationSeconds: DURATION, requests: meFor(indexPicker(users.length, 'uniform', seededRandom(12_345))) });
      await delay(2_000);
      const zipf = await load({ url: gateway.url, durationSeconds: DURATION, requests: meFor(indexPicker(users.length, { zipf: 1 }, seededRandom(12_345))) });
      const connections = await ctx.deps.db.query<{ kind: string; n: number }>(
        `SELECT CASE WHEN usename LIKE 'tenant\\_%' THEN 'tenant databases' ELSE coalesce(nullif(application_name, ''), usename) END AS kind, count(*)::int AS n
           FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 1`,
      );
      const held = connections.rows.map((r) => `${r.kind}: ${r.n}`).join(', ');
      return [
        {
          scenario: 'tenants',
          target: 'provision 1 tenant',
          requestsPerSecond: 0,
          p50: Math.round(oneMs),
          p99: Math.round(oneMs),
          errors: 0,
          note: `${Math.round(oneMs)} ms`,
        },
        {
          scenario: 'tenants',
          target: `provision ${count.toLocaleString('en')} tenants (sequential)`,
          requestsPerSecond: 0,
          p50: Math.round(allMs / count),
          p99: 0,
          errors: 0,
          note: `${(allMs / 1000).toFixed(1)} s total, ${Math.round(allMs / count)} ms each; #13 asks < 2 min for 1,000`,
        },
        { scenario: 'tenants', target: 'GET /auth/me, one tenant', ...single },
        {
          scenario: 'tenants',
          target: `GET /auth/me, ${count.toLocaleString('en')} tenants picked uniformly at random per request`,
          ...spread,
          ratio: ratio(spread.requestsPerSecond, single.requestsPerSecond),
        },
        {
          scenario: 'tenants',
          target: `GET /auth/me, ${count.toLocaleString('en')} tenants picked Zipf (s = 1) per request`,
          ...zipf,
          ratio: ratio(zipf.requestsPerSecond, single.requestsPerSecond),
          note: `auth's tenant backends capped at ${tenantBackends}; connections after: ${held}`,
        },
      ];
    },
  },
};

SCENARIOS['customer-data'] = {
  description: 'a tenant with 1 M clients: filtered list and create deal through the gateway, import and export throughput, query plans',
  async run(ctx) {
    const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1_000_000);
    const tenant = await newTenant(ctx);
    const tenantDb = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, tenant.tenant.dbName!) });
    await tenantDb.connect();
    ctx.cleanup.push(() => tenantDb.end());
    const seedSeconds = await seedClients(tenantDb, CLIENTS);

    // The client and CRM services call each other, so the client service's address is chosen first.
    const clientUrl = await closedPortUrl();
    const crm = await start(ctx, 'services/crm/src/main.ts', { CRM_PORT: '0', CLIENT_URL: clientUrl });
    const client = await start(ctx, 'services/client/src/main.ts', { CLIENT_PORT: new URL(clientUrl).port, CRM_URL: crm.url });
    const auth = await start(ctx, 'services/auth/src/main.ts', { AUTH_PORT: '0' });
    const gateway = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', AUTH_URL: auth.url, CLIENT_URL: client.url, CRM_URL: crm.url });
    const user = await signUp(gateway.url, tenant.apiKey.key);
    const headers = { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` };

    const rows: Measurement[] = [];
    const lists: Array<[string, string, ClientQuery]> = [
      ['newest 50, status + tag', '?status=active&tag=eu&limit=50', { status: 'active', tag: 'eu', deleted: false, sort: '-createdAt', limit: 50 }],
      ['name prefix, sorted by name', '?q=client%2012&sort=name&limit=50', { q: 'client 12', deleted: false, sort: 'name', limit: 50 }],
      ['full-text word', '?q=c123456%40example.com&limit=50', { q: 'c123456@example.com', deleted: false, sort: '-createdAt', limit: 50 }],
    ];
    const plans: string[] = [];
    for (const [label, query, parsed] of lists) {
      const result = await load({ url: `${gateway.url}/api/v1/client/clients${query}`, headers, durationSeconds: DURATION, connections: 10 });
      rows.push({ scenario: 'customer-data', target: `GET clients: ${label} (10 conns)`, ...result, note: `${CLIENTS.toLocaleString('en')} clients` });
      const { text, values } = buildClientListQuery(parsed);
      const plan = await tenantDb.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, values);
      plans.push(`-- ${label}: GET /api/v1/client/clients${query}\n${plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')}`);
    }
    const deal = await load({
      url: `${gateway.url}/api/v1/crm/deals`,
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Bench deal', valueMinor: 125_000, currency: 'EUR' }),
      durationSeconds: DURATION,
      connections: 10,
    });
    rows.push({ scenario: 'customer-data', target: 'POST deal (10 conns)', ...deal });

    const IMPORT_ROWS = 100_000;
    const transfer = { gateway, headers, clientPid: client.process.child.pid!, rows };
    await measureImport(transfer, 'clients', [
      'externalId,name,email,status,tags',
      ...Array.from({ length: IMPORT_ROWS }, (_, i) => `imp-${i},Imported ${i},imp${i}@example.org,lead,import`),
    ]);
    // Each contact links to one of the clients just imported, resolved by external id.
    await measureImport(transfer, 'contacts', [
      'externalId,firstName,lastName,email,clientExternalId',
      ...Array.from({ length: IMPORT_ROWS }, (_, i) => `con-${i},First ${i},Last ${i},con${i}@example.org,imp-${i}`),
    ]);
    await measureExport(transfer, 'clients', `seeding took ${seedSeconds.toFixed(0)} s`);
    await measureExport(transfer, 'contacts', 'read from the CRM 500 at a time');
    process.stdout.write(`\nQuery plans (EXPLAIN ANALYZE on the ${CLIENTS.toLocaleString('en')}-client tenant):\n\n${plans.join('\n\n')}\n`);
    return rows;
  },
};

/** Writes `count` clients straight into a tenant database (names, emails, statuses, tags spread out); answers the seconds it took. */
async function seedClients(tenantDb: pg.Client, count: number): Promise<number> {
  const started = performance.now();
  await tenantDb.query(
    `INSERT INTO clients (name, email, status, tags, created_at)
     SELECT 'Client ' || g || ' ' || substr(md5(g::text), 1, 8), 'c' || g || '@example.com', (ARRAY['lead','active','inactive'])[1 + g % 3],
            ARRAY[(ARRAY['eu','us','apac','vip'])[1 + g % 4]], now() - make_interval(secs => g)
       FROM generate_series(1, $1::int) g`,
    [count],
  );
  await tenantDb.query('ANALYZE clients');
  return (performance.now() - started) / 1000;
}

SCENARIOS['tenant-archive'] = {
  description: 'a tenant with 1 M clients exported through the gateway and imported back as a new tenant: rows/s, the admin service’s peak RSS, same rows',
  async run(ctx) {
    const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1_000_000);
    const tenant = await newTenant(ctx);
    const sourceDb = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, tenant.tenant.dbName!) });
    await sourceDb.connect();
    ctx.cleanup.push(() => sourceDb.end());
    const seedSeconds = await seedClients(sourceDb, CLIENTS);

    const admin = await start(ctx, 'services/admin/src/main.ts', { ADMIN_PORT: '0', SERVICE_POLL_MS: '0', ADMIN_JOBS: 'off', PROVISIONING_SPARES: '0' });
    const auth = await start(ctx, 'services/auth/src/main.ts', { AUTH_PORT: '0' });
    const gateway = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', AUTH_URL: auth.url, ADMIN_URL: admin.url });
    const email = `bench-ops-${randomBytes(4).toString('hex')}@platform.example`;
    await ctx.deps.db.query(`INSERT INTO admins (email, password_hash, role) VALUES ($1, $2, 'super_admin')`, [
      email,
      await bcrypt.hash('bench password 123', BCRYPT_COST),
    ]);
    ctx.cleanup.push(async () => void (await ctx.deps.db.query('DELETE FROM admins WHERE email = $1', [email])));
    const signedIn = (await (
      await fetch(`${gateway.url}/api/v1/auth/admin/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: 'bench password 123' }),
      })
    ).json()) as { accessToken: string };
    const authorization = { Authorization: `Bearer ${signedIn.accessToken}` };
    const adminPid = admin.process.child.pid!;

    const exportStarted = performance.now();
    const exported = await fetch(`${gateway.url}/api/v1/admin/tenants/${tenant.tenant.id}/export`, { headers: authorization });
    const archive = Buffer.from(await exported.arrayBuffer());
    const exportSeconds = (performance.now() - exportStarted) / 1000;
    const afterExportMiB = await memoryMiB(adminPid, 'VmHWM');

    const importStarted = performance.now();
    const started = await fetch(`${gateway.url}/api/v1/admin/tenants/import?slug=bench-copy-${randomBytes(4).toString('hex')}`, {
      method: 'POST',
      headers: { ...authorization, 'Content-Type': 'application/gzip' },
      body: archive,
    });
    let job = (await started.json()) as { id: string; status: string; tenantId: string | null; rowsLoaded: number; failure: string | null };
    const checkedSeconds = (performance.now() - importStarted) / 1000;
    while (started.status === 202 && job.status === 'running') {
      await delay(250);
      job = (await (await fetch(`${gateway.url}/api/v1/admin/tenant-imports/${job.id}`, { headers: authorization })).json()) as typeof job;
    }
    const importSeconds = (performance.now() - importStarted) / 1000;
    const afterImportMiB = await memoryMiB(adminPid, 'VmHWM');

    // Same rows: the count and an order-free sum of every row's MD5 (ids included) on both databases.
    const fingerprint = `SELECT count(*)::bigint AS rows, sum(('x' || substr(md5(c::text), 1, 15))::bit(60)::bigint)::text AS sum FROM clients c`;
    const before = (await sourceDb.query(fingerprint)).rows[0];
    let same = 'the import failed';
    if (job.status === 'completed' && job.tenantId) {
      const copy = (await ctx.deps.db.query<{ db_name: string }>('SELECT db_name FROM tenants WHERE id = $1', [job.tenantId])).rows[0]!;
      const copyDb = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, copy.db_name) });
      await copyDb.connect();
      const after = (await copyDb.query(fingerprint)).rows[0];
      await copyDb.end();
      same = before.rows === after.rows && before.sum === after.sum ? `same rows (${Number(after.rows).toLocaleString('en')}, same MD5 sum)` : 'ROWS DIFFER';
    }
    const sizeMiB = (archive.length / 1048576).toFixed(0);
    return [
      {
        scenario: 'tenant-archive',
        target: `export ${CLIENTS.toLocaleString('en')} clients via gateway (gzip JSON lines)`,
        requestsPerSecond: Math.round(CLIENTS / exportSeconds),
        p50: 0,
        p99: 0,
        errors: exported.status === 200 ? 0 : 1,
        note: `rows/s; ${exportSeconds.toFixed(1)} s, archive ${sizeMiB} MiB; admin service peak RSS ${afterExportMiB} MiB; seeding took ${seedSeconds.toFixed(0)} s`,
      },
      {
        scenario: 'tenant-archive',
        target: 'import that archive as a new tenant via gateway',
        requestsPerSecond: Math.round(job.rowsLoaded / importSeconds),
        p50: 0,
        p99: 0,
        errors: job.status === 'completed' ? 0 : 1,
        note: `rows/s; ${importSeconds.toFixed(1)} s (upload + whole-archive check ${checkedSeconds.toFixed(1)} s); admin service peak RSS ${afterImportMiB} MiB; ${same}${job.failure ? `; ${job.failure}` : ''}`,
      },
    ];
  },
};

SCENARIOS['tenant-move'] = {
  description: 'a tenant moved to a second PostgreSQL cluster and back: the write pause and copy rate at 10,000 and 100,000 clients',
  async run(ctx) {
    const sizes = (process.env.BENCH_MOVE_CLIENTS ?? '10000,100000').split(',').map(Number);
    const second = await startEmbeddedPostgres({ dataDir: path.join('.data', 'bench-second'), port: 54322 });
    ctx.cleanup.push(() => second.stop());
    const provisioning = {
      db: ctx.deps.db,
      serverUrl: ctx.masterUrl,
      templateDatabase: ctx.deps.config.provisioning.templateDatabase,
      secrets: ctx.deps.secrets,
      logger: ctx.deps.logger,
      settings: ctx.deps.platformConfig,
    };
    const name = `bench-${randomBytes(3).toString('hex')}`;
    await registerDatabaseServer(
      { ...provisioning, defaultCapacity: 1_000_000 },
      { name, url: second.url, capacity: 1 },
      { actorType: 'system', actorId: 'bench' },
      ctx.deps.audit,
    );
    ctx.cleanup.push(async () => void (await ctx.deps.db.query('DELETE FROM database_servers WHERE name = $1', [name])));
    const rows: Measurement[] = [];
    const setStatus = (status: string) => ctx.deps.db.query('UPDATE database_servers SET status = $2 WHERE name = $1', [name, status]);
    for (const size of sizes) {
      // Made on the default server: the second one takes no new tenants meanwhile.
      await setStatus('draining');
      const tenant = await newTenant(ctx);
      await setStatus('active');
      const tenantDb = new pg.Client({ connectionString: withDatabase(ctx.masterUrl, tenant.tenant.dbName!) });
      await tenantDb.connect();
      await seedClients(tenantDb, size);
      await tenantDb.end();
      for (const [from, to] of [
        ['default', name],
        [name, 'default'],
      ] as const) {
        const started = performance.now();
        const moved = await moveTenant(provisioning, tenant.tenant.id, to, { actorType: 'system', actorId: 'bench' }, ctx.deps.audit);
        const seconds = (performance.now() - started) / 1000;
        rows.push({
          scenario: 'tenant-move',
          target: `move ${size.toLocaleString('en')} clients ${from} → ${to === name ? 'second cluster' : 'default'}`,
          requestsPerSecond: Math.round(moved.rows / (moved.writePauseMs / 1000)),
          p50: 0,
          p99: 0,
          errors: 0,
          note: `rows/s in the pause; write pause ${moved.writePauseMs} ms, whole move ${seconds.toFixed(1)} s (the new database is made before the pause)`,
        });
      }
    }
    return rows;
  },
};

interface TransferBench {
  gateway: Running;
  headers: Record<string, string>;
  clientPid: number;
  rows: Measurement[];
}

/** Imports a CSV file through the gateway and records rows/s and the client service's peak memory. */
async function measureImport(bench: TransferBench, entity: 'clients' | 'contacts', lines: string[]): Promise<void> {
  const csv = lines.join('\n');
  const beforeMiB = await memoryMiB(bench.clientPid, 'VmHWM');
  const started = performance.now();
  // Asked to answer at once, then polled: the time is until the job finishes, not until the upload is stored.
  const imported = await fetch(`${bench.gateway.url}/api/v1/client/import?entity=${entity}&format=csv`, {
    method: 'POST',
    headers: { ...bench.headers, 'Content-Type': 'text/csv', Prefer: 'respond-async' },
    body: csv,
  });
  let job = (await imported.json()) as { status: string; rowsInserted: number; rowsFailed: number };
  while (imported.status === 202 && job.status === 'running') {
    await delay(100);
    job = (await (await fetch(`${bench.gateway.url}${imported.headers.get('location')}`, { headers: bench.headers })).json()) as typeof job;
  }
  const seconds = (performance.now() - started) / 1000;
  const afterMiB = await memoryMiB(bench.clientPid, 'VmHWM');
  bench.rows.push({
    scenario: 'customer-data',
    target: `import ${(lines.length - 1).toLocaleString('en')} ${entity} (CSV) via gateway`,
    requestsPerSecond: Math.round((lines.length - 1) / seconds),
    p50: 0,
    p99: 0,
    errors: job.status === 'completed' ? job.rowsFailed : lines.length - 1,
    note: `rows/s; ${seconds.toFixed(1)} s, ${job.rowsInserted} inserted; client service peak RSS ${beforeMiB} → ${afterMiB} MiB (file ${Math.round(csv.length / 1048576)} MiB)`,
  });
}

/** Streams an export through the gateway and records rows/s and the client service's peak memory. */
async function measureExport(bench: TransferBench, entity: 'clients' | 'contacts', extraNote: string): Promise<void> {
  const started = performance.now();
  const exported = await fetch(`${bench.gateway.url}/api/v1/client/export?entity=${entity}&format=csv`, { headers: bench.headers });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of exported.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) lines += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  bench.rows.push({
    scenario: 'customer-data',
    target: `export all ${entity} as CSV via gateway`,
    requestsPerSecond: Math.round((lines - 1) / seconds),
    p50: 0,
    p99: 0,
    errors: exported.status === 200 ? 0 : 1,
    note: `rows/s; ${(lines - 1).toLocaleString('en')} rows, ${Math.round(bytes / 1048576)} MiB in ${seconds.toFixed(1)} s; client service peak RSS ${await memoryMiB(bench.clientPid, 'VmHWM')} MiB; ${extraNote}`,
  });
}

SCENARIOS.metering = {
  description:
    'usage metering: gateway throughput with metering on vs off, a billing outage under load (events lost, throughput), ingest events/s, a usage read over 10 M events',
  async run(ctx) {
    /** The fixed rate the usage read's latency is measured at (open-loop). */
    const USAGE_READ_RATE = 50;
    const OUTAGE = Number(process.argv.find((a) => a.startsWith('--outage='))?.split('=')[1] ?? 60);
    const tenant = await newTenant(ctx);
    const tenantId = tenant.tenant.id;
    const auth = await start(ctx, 'services/auth/src/main.ts', { AUTH_PORT: '0' });
    const port = await freePort();
    const billingEnv = { BILLING_PORT: String(port) };
    let billing = await startProcess('services/billing/src/main.ts', { ...ctx.env, ...billingEnv }, ctx.node);
    ctx.cleanup.push(() => billing.stop());
    const spool = await mkdtemp(path.join(tmpdir(), 'bench-spool-'));
    ctx.cleanup.push(() => rm(spool, { recursive: true, force: true }));
    const upstreams = { AUTH_URL: auth.url, BILLING_URL: `http://127.0.0.1:${port}` };
    const metered = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', ...upstreams, USAGE_SPOOL_DIR: spool });
    const plain = await start(ctx, 'gateway/src/main.ts', { GATEWAY_PORT: '0', ...upstreams, USAGE_METERING: 'off' });
    const user = await signUp(plain.url, tenant.apiKey.key);
    const headers = { 'X-API-Key': tenant.apiKey.key, Authorization: `Bearer ${user.accessToken}` };

    // Alternated, three times each, so a drift of the machine over the run weighs on both sides alike.
    const rounds: Array<{ off: LoadResult; on: LoadResult }> = [];
    for (let round = 0; round < 3; round++) {
      const off = await load({ url: `${plain.url}/api/v1/auth/me`, headers, durationSeconds: DURATION });
      const on = await load({ url: `${metered.url}/api/v1/auth/me`, headers, durationSeconds: DURATION });
      rounds.push({ off, on });
    }
    const mean = (side: 'off' | 'on'): LoadResult => ({
      requestsPerSecond: Math.round(rounds.reduce((sum, r) => sum + r[side].requestsPerSecond, 0) / rounds.length),
      p50: Math.max(...rounds.map((r) => r[side].p50)),
      p99: Math.max(...rounds.map((r) => r[side].p99)),
      errors: rounds.reduce((sum, r) => sum + r[side].errors, 0),
      completed: rounds.reduce((sum, r) => sum + r[side].completed, 0),
    });
    const off = mean('off');
    const on = mean('on');

    // The outage: every response the metered gateway gives from here on must reach billing's count once.
    const counted = async () =>
      Number(
        (
          await ctx.deps.db.query<{ n: string }>(`SELECT coalesce(sum(total), 0) AS n FROM usage_aggregates WHERE tenant_id = $1 AND metric = 'api_calls'`, [
            tenantId,
          ])
        ).rows[0]!.n,
      );
    // From the metered gateway's own /metrics: the requests it metered (one event each, whether the client
    // waited for the answer or not), which billing must count exactly, and those it answered in full.
    const gatewayCount = async (metric: string, filter = '') => {
      const text = await (await fetch(`${metered.url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) && line.includes(filter))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    };
    const meteredCount = () => gatewayCount('usage_events_recorded_total');
    const answered = () => gatewayCount('http_requests_total', '/auth/me');
    await delay(2_000);
    const before = await counted();
    const answeredBefore = await answered();
    const meteredBefore = await meteredCount();
    const phase = (seconds: number) => load({ url: `${metered.url}/api/v1/auth/me`, headers, durationSeconds: seconds, warmupSeconds: 0 });
    const normal = await phase(DURATION);
    billing.process.child.kill('SIGKILL');
    await billing.process.exited;
    const outage = await phase(OUTAGE);
    billing = await startProcess('services/billing/src/main.ts', { ...ctx.env, ...billingEnv }, ctx.node);
    const after = await phase(DURATION);
    await delay(1_000);
    const served = (await meteredCount()) - meteredBefore;
    const fullyAnswered = (await answered()) - answeredBefore;
    const drainStarted = Date.now();
    let total = await counted();
    while (total - before < served && Date.now() - drainStarted < 120_000) {
      await delay(500);
      total = await counted();
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;

    // Ingest: gateway-shaped batches of 2,000 straight to billing, four in flight.
    const signer = createServiceTokenSigner('gateway', ctx.env.SERVICE_JWT_SECRET!);
    const batch = () =>
      JSON.stringify({
        events: Array.from({ length: 2_000 }, () => ({
          id: randomUUID(),
          tenantId,
          occurredAt: new Date().toISOString(),
          code: 'api_request',
          properties: {
            keyId: tenant.apiKey.id,
            service: 'crm',
            route: '/api/v1/crm/deals',
            method: 'GET',
            status: 200,
            bytesIn: 0,
            bytesOut: 812,
            durationMs: 3.2,
          },
        })),
      });
    let ingested = 0;
    const ingestUntil = Date.now() + DURATION * 1000;
    const ingestStarted = Date.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < ingestUntil) {
          const response = await fetch(`${billing.url}/internal/usage/events`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${signer.sign('billing')}` },
            body: batch(),
          });
          if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
          ingested += ((await response.json()) as { accepted: number }).accepted;
        }
      }),
    );
    const ingestRate = Math.round(ingested / ((Date.now() - ingestStarted) / 1000));

    // A usage read for a tenant with 10 M events this period: reads touch the hourly aggregates only, so the
    // aggregates of 10 M events (spread over the period's hours) are written directly.
    const reader = await newTenant(ctx);
    await ctx.deps.db.query(
      `INSERT INTO usage_aggregates (tenant_id, metric, hour, total, maximum, events)
       SELECT $1, m.metric, h, 10000000 / 720 * m.factor, NULL, 10000000 / 720
         FROM generate_series(date_trunc('hour', now()) - interval '719 hours', date_trunc('hour', now()), interval '1 hour') AS h,
              (VALUES ('api_calls', 1), ('egress_bytes', 812), ('ingress_bytes', 40)) AS m(metric, factor)`,
      [reader.tenant.id],
    );
    // What autovacuum does for a table that grows by the hour; without it the planner thinks the tenant has one row.
    await ctx.deps.db.query('ANALYZE usage_aggregates');
    const from = new Date(Date.now() - 720 * 3_600_000).toISOString();
    const usageRead = {
      url: `${metered.url}/api/v1/billing/usage?granularity=day&from=${from}&to=${new Date(Date.now() + 3_600_000).toISOString()}`,
      headers: { 'X-API-Key': reader.apiKey.key },
      durationSeconds: DURATION,
    };
    const read = await load({ ...usageRead, connections: 10 });
    // Latency at a steady load well under saturation, open-loop: what a dashboard polling usage sees.
    const readAtRate = await load({ ...usageRead, overallRate: USAGE_READ_RATE, connections: 20 });
    return [
      {
        scenario: 'metering',
        target: 'GET /auth/me, gateway USAGE_METERING=off',
        ...off,
        note: 'mean of three runs alternated with the next row; p50/p99 the worst run',
      },
      {
        scenario: 'metering',
        target: 'GET /auth/me, gateway metering (billing ingesting)',
        ...on,
        ratio: ratio(on.requestsPerSecond, off.requestsPerSecond),
        note: `per round ${rounds.map((r) => ratio(r.on.requestsPerSecond, r.off.requestsPerSecond)).join(', ')}`,
      },
      { scenario: 'metering outage', target: 'metered gateway, billing up', ...normal },
      {
        scenario: 'metering outage',
        target: `metered gateway, billing killed for ${OUTAGE} s`,
        ...outage,
        ratio: ratio(outage.requestsPerSecond, normal.requestsPerSecond),
      },
      {
        scenario: 'metering outage',
        target: 'after billing is back',
        ...after,
        note: `the gateway metered ${served} requests over the three runs (its /metrics; ${fullyAnswered} answered in full, the rest cut off by the load generator stopping), billing counted ${total - before} (${total - before === served ? 'equal' : `off by ${total - before - served}`}) ${drainSeconds.toFixed(1)} s after the load`,
      },
      {
        scenario: 'metering',
        target: 'billing ingest, batches of 2,000, 4 in flight',
        requestsPerSecond: ingestRate,
        p50: 0,
        p99: 0,
        errors: 0,
        note: 'events/s in the req/s column; target ≥ 20,000',
      },
      { scenario: 'metering', target: 'GET /billing/usage by day, 10 M events in the period', ...read, note: '10 connections, closed-loop: saturation' },
      {
        scenario: `metering @${USAGE_READ_RATE}/s`,
        target: 'GET /billing/usage by day, 10 M events in the period',
        ...readAtRate,
        note: 'open-loop at a fixed rate; p99 target < 50 ms',
      },
    ];
  },
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const unknown = requested.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown scenario(s): ${unknown.join(', ')}. Known: ${Object.keys(SCENARIOS).join(', ')}\n`);
    process.exit(2);
  }
  const names = requested.length > 0 ? requested : Object.keys(SCENARIOS);
  // Its own embedded cluster and port, so a running `npm start` is not disturbed.
  const launcher = loadLauncherConfig({ DATA_DIR: path.join('.data', 'bench'), EMBEDDED_PG_PORT: '54321', ...process.env });
  const database: PlatformDatabase = await openPlatformDatabase(launcher);
  await migratePlatform(database.masterUrl);
  const env: Record<string, string> = {
    DATABASE_URL: database.masterUrl,
    // Kept with the bench cluster: what it sealed in one run must open in the next.
    ...(await localSecrets(launcher.dataDir, {})),
    BCRYPT_COST: String(BCRYPT_COST),
    // Limits would measure themselves, not the pipeline.
    RATE_LIMIT_PER_KEY: '1000000000',
    RATE_LIMIT_PER_IP: '1000000000',
    LOGIN_IP_ATTEMPTS: '1000000000',
    LOGIN_ACCOUNT_ATTEMPTS: '1000000000',
  };
  const deps = createServiceDeps(loadConfig('admin', env), createLogger('bench', { level: 'warn' }));
  const runtimes = await benchRuntimes();
  process.stdout.write(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; servers on ${runtimes.map((r) => `${r.label} (${r.version})`).join(', then ')}, load generator on Node ${process.version}; ${CONNECTIONS} connections unless noted, ${DURATION} s per run; access logs off (LOG_LEVEL=info) on every process, nginx access_log off.\n`,
  );
  const rowsByRuntime: Measurement[][] = [];
  try {
    for (const runtime of runtimes) {
      const rows: Measurement[] = [];
      for (const name of names) {
        const scenario = SCENARIOS[name]!;
        process.stdout.write(`Running ${name} on ${runtime.label}: ${scenario.description}…\n`);
        const ctx: Context = { node: runtime.binary, masterUrl: database.masterUrl, env, deps, cleanup: [] };
        try {
          rows.push(...(await scenario.run(ctx)));
        } finally {
          for (const step of ctx.cleanup.reverse()) await step();
        }
      }
      rowsByRuntime.push(rows);
    }
  } finally {
    await closeServiceDeps(deps);
    await dropProvisionedTenants(database.masterUrl, withDatabase(database.masterUrl, 'postgres'));
    const master = new pg.Client({ connectionString: database.masterUrl });
    await master.connect();
    await master.query('DELETE FROM tenants');
    await master.end();
    await database.embedded?.stop();
  }
  printTable(rowsByRuntime[0]!, runtimes[1] && { label: runtimes[1].label, rows: rowsByRuntime[1]! });
  if (PROFILE_DIR) await printProfiles(PROFILE_DIR);
}

/**
 * The runtimes the servers run on, headline first: Node 24 LTS (production's,
 * fetched like CI does) and Node 20 beside it, from `--runtimes=24,20` (the
 * default). Work the bench does in its own process (provisioning, per-call
 * timings) runs on the bench's Node either way.
 */
async function benchRuntimes(): Promise<Array<{ label: string; binary: string; version: string }>> {
  const asked = (process.argv.find((a) => a.startsWith('--runtimes='))?.split('=')[1] ?? '24,20').split(',').map(Number);
  const runtimes = [];
  for (const major of asked) {
    const binary = major === 24 ? await node24Binary() : nodeOfMajor(major);
    if (!binary) {
      process.stdout.write(`Node ${major} not found on PATH: its column is left out.\n`);
      continue;
    }
    runtimes.push({ label: `Node ${major}`, binary, version: execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim() });
  }
  if (runtimes.length === 0) throw new Error('no runtime to run the servers on');
  return runtimes;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
