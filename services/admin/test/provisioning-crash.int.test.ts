import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { closeServiceDeps, hashApiKey, type ServiceDeps } from '@codex/shared';
import { findTenantBySlug } from '../src/db/tenants-repo';
import { testServerUrl } from '../../../test/support/database';
import { runTypeScript } from '../../../test/support/processes';
import { createTestDeps } from '../../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';

/**
 * Provisioning killed with SIGKILL part-way, as a crash or an OOM kill would:
 * the operator CLI is started, the test watches PostgreSQL for a step to
 * appear and kills the process at that moment, then runs the CLI again.
 */
describe('provisioning killed mid-way (real process, SIGKILL)', () => {
  let bed: TenantTestBed;
  let deps: ServiceDeps;
  let server: pg.Client;

  beforeAll(async () => {
    bed = await createTenantTestBed();
    deps = createTestDeps('admin', bed.db.url, { TENANT_TEMPLATE_DATABASE: bed.template });
    server = new pg.Client({ connectionString: testServerUrl() });
    await server.connect();
  });
  afterAll(async () => {
    await server.end();
    await closeServiceDeps(deps);
    await bed.drop();
  });

  /** `npm run tenant -- create <slug>` with this test's database, template and keys. */
  const createWithCli = (slug: string) =>
    runTypeScript(
      'scripts/tenant.ts',
      {
        DATABASE_URL: bed.db.url,
        TENANT_TEMPLATE_DATABASE: bed.template,
        SECRETS_KEYS: deps.config.secretKeys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(','),
        SERVICE_JWT_SECRET: deps.config.serviceJwtSecret,
      },
      ['create', slug],
    );

  /** What marks each step as reached, read from the server. */
  const reached: Record<string, (slug: string) => Promise<boolean>> = {
    'the master row': async (slug) => Boolean(await findTenantBySlug(deps.db, slug)),
    'the login role': async (slug) => {
      const tenant = await findTenantBySlug(deps.db, slug);
      return Boolean(tenant && (await server.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [tenant.dbRole])).rowCount);
    },
    'the database': async (slug) => {
      const tenant = await findTenantBySlug(deps.db, slug);
      return Boolean(tenant && (await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [tenant.dbName])).rowCount);
    },
  };

  it.each(Object.keys(reached))('when the process is killed as soon as %s exists, then running it again finishes the tenant exactly once', async (step) => {
    const slug = `crash-${randomBytes(4).toString('hex')}`;
    const first = createWithCli(slug);
    let killed = false;
    for (let waited = 0; waited < 30_000 && first.child.exitCode === null; waited += 5) {
      if (await reached[step]!(slug)) {
        first.child.kill('SIGKILL');
        killed = true;
        break;
      }
      await delay(5);
    }
    await first.exited;
    const afterCrash = await findTenantBySlug(deps.db, slug);
    expect(afterCrash).toBeDefined();

    const retry = createWithCli(slug);
    const { code } = await retry.exited;
    const tenant = (await findTenantBySlug(deps.db, slug))!;
    if (killed && afterCrash!.status !== 'active') {
      expect(code).toBe(0);
      const printed = JSON.parse(retry.output()) as { apiKey: { key: string } };
      const live = await deps.db.query('SELECT key_hash FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL', [tenant.id]);
      expect(live.rows).toEqual([{ key_hash: hashApiKey(printed.apiKey.key) }]);
    } else {
      // The first run won the race and finished before the kill landed: the retry must refuse the slug.
      expect(code).toBe(1);
      expect(retry.output()).toContain('already exists');
    }
    expect(tenant.status).toBe('active');
    expect((await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [tenant.dbName])).rowCount).toBe(1);
    expect((await server.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [tenant.dbRole])).rowCount).toBe(1);
    expect(await deps.tenants.withConnection(tenant.id, async (c) => (await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n)).toBe(0);
  });

  it.each([
    [['create', 'Bad Slug!'], /arguments\.slug: must be 3-63 characters/],
    [['create', 'admin'], /arguments\.slug: is reserved/],
    [['keys', 'no-such-tenant'], /No tenant with slug "no-such-tenant"/],
    [['revoke-key', 'no-such-tenant', 'x'], /No tenant with slug/],
    [['list', '--status', 'sleeping'], /arguments\.status: /],
  ])('when the CLI is given bad input (%j), then it exits 1 with the API’s message and no stack trace', async (args, message) => {
    const run = runTypeScript(
      'scripts/tenant.ts',
      { DATABASE_URL: bed.db.url, TENANT_TEMPLATE_DATABASE: bed.template, SERVICE_JWT_SECRET: deps.config.serviceJwtSecret },
      args,
    );
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.output()).toMatch(message);
    expect(run.output()).not.toMatch(/\n\s+at /);
  });
});
