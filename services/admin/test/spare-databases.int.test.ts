import { randomBytes } from 'node:crypto';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import * as tenantDatabases from '../src/db/tenant-databases';
import { fillSpareDatabases, withServerAdmin } from '../src/db/tenant-databases';
import { findTenantBySlug } from '../src/db/tenants-repo';
import { provisionTenant, type ProvisioningDeps } from '../src/domain/provisioning';
import { SpareDatabases } from '../src/domain/spare-databases';
import { serverQuery } from '../../../test/support/database';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { createTestDeps } from '../../../test/support/service-deps';
import { connectAs } from '../../../test/support/tenants';

// A fill waits its turn for the server's template lock, which every provisioning test file takes.
jest.setTimeout(120_000);

describe('spare tenant databases', () => {
  let bed: TenantTestBed;
  let deps: ServiceDeps<'admin'>;
  let spares: SpareDatabases;
  let provisioning: ProvisioningDeps;

  const sparesOnServer = () =>
    serverQuery<{ oid: number; datname: string; comment: string | null }>(
      `SELECT oid::int AS oid, datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'tenant\\_spare\\_%'`,
    );

  /** Fills until `done` holds: another process's filler (a platform another test file started) may hold the server's fill lock meanwhile. */
  async function fillUntil(done: () => Promise<boolean>): Promise<void> {
    const serverUrl = deps.config.databaseUrl;
    for (let attempt = 0; attempt < 240 && !(await done()); attempt += 1) {
      await withServerAdmin(serverUrl, (admin) => fillSpareDatabases(admin, serverUrl, bed.template, 1, () => false));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await done()).toBe(true);
  }

  beforeAll(async () => {
    bed = await createTenantTestBed();
    deps = createTestDeps('admin', bed.db.url, { TENANT_TEMPLATE_DATABASE: bed.template });
    spares = new SpareDatabases({ serverUrl: deps.config.databaseUrl, templateDatabase: bed.template, count: 1, logger: deps.logger });
    provisioning = {
      db: deps.db,
      serverUrl: deps.config.databaseUrl,
      templateDatabase: bed.template,
      secrets: deps.secrets,
      logger: deps.logger,
      spares,
      settings: deps.platformConfig,
    };
  });
  afterAll(async () => {
    await spares.close();
    await closeServiceDeps(deps);
    await bed.drop();
  });

  it('when a spare is ready, then a new tenant gets it under its own names and password, locked down like any tenant database, and a new spare is made', async () => {
    await fillUntil(async () => (await sparesOnServer()).some((spare) => spare.comment?.startsWith('codex spare: ')));
    const readyBefore = new Set((await sparesOnServer()).filter((spare) => spare.comment?.startsWith('codex spare: ')).map((spare) => spare.oid));
    const slug = `t-${randomBytes(4).toString('hex')}`;
    const claim = jest.spyOn(tenantDatabases, 'claimSpareDatabase');
    await provisionTenant(provisioning, { slug, name: 'Spare Co', plan: 'free' });
    expect(claim).toHaveBeenCalledTimes(1);
    await expect(claim.mock.results[0]!.value).resolves.toBe(true);
    claim.mockRestore();
    const tenant = (await findTenantBySlug(deps.db, slug))!;
    expect(tenant.status).toBe('active');

    // The tenant's database is a spare that was ready (or one another platform's filler made ready
    // meanwhile), renamed, with its comment cleared.
    const [database] = await serverQuery<{ oid: number; comment: string | null }>(
      `SELECT oid::int AS oid, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [tenant.dbName],
    );
    expect(readyBefore.size).toBeGreaterThan(0);
    expect(database!.comment).toBeNull();
    expect(await serverQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [tenant.dbRole])).toHaveLength(1);

    // Its role logs in with the tenant's own password and uses the migrated tables, and nothing else.
    const password = deps.secrets.open(tenant.dbSecret!);
    const own = await connectAs(tenant.dbName!, tenant.dbRole!, password);
    await own.query('INSERT INTO users (email) VALUES ($1)', ['spare@example.com']);
    await expect(own.query('CREATE TABLE mine (id int)')).rejects.toMatchObject({ code: '42501' });
    await expect(own.query('SELECT * FROM pg_catalog.pg_database')).rejects.toMatchObject({ code: '42501' });
    await own.end();
    // (This file's template may never have been built: a spare another platform made can be the one claimed.)
    for (const other of [bed.db.name, 'postgres', 'template1']) {
      await expect(connectAs(other, tenant.dbRole!, password)).rejects.toMatchObject({ code: '42501' });
    }
    for (const spare of await sparesOnServer()) {
      await expect(connectAs(spare.datname, tenant.dbRole!, password)).rejects.toMatchObject({ code: '42501' });
    }

    // The claim asked for a replacement.
    await spares.idle();
    await fillUntil(async () => (await sparesOnServer()).some((spare) => spare.comment?.startsWith('codex spare: ')));
  });

  it('when a spare was left unfinished or was copied under other migration files, then the next fill drops it and its role', async () => {
    const name = `tenant_spare_${randomBytes(8).toString('hex')}`;
    await serverQuery(`CREATE ROLE ${name} LOGIN`);
    await serverQuery(`CREATE DATABASE ${name}`);
    await serverQuery(`COMMENT ON DATABASE ${name} IS 'codex spare: codex tenant migrations 0000'`);
    await fillUntil(async () => (await serverQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 0);
    expect(await serverQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).toHaveLength(0);
  });

  it('when the tenant’s role is left from an earlier attempt, then no spare is taken and the template is copied as before', async () => {
    await fillUntil(async () => (await sparesOnServer()).some((spare) => spare.comment?.startsWith('codex spare: ')));
    const slug = `t-${randomBytes(4).toString('hex')}`;
    // The first attempt fails after its role: the retry resumes with that role and copies.
    await expect(
      provisionTenant({ ...provisioning, spares: undefined }, { slug, name: 'Resumed Co', plan: 'free' }, (step) => {
        if (step === 'role') throw new Error('stopped after the role');
      }),
    ).rejects.toThrow('stopped after the role');
    const readyBefore = new Set((await sparesOnServer()).map((spare) => spare.oid));
    await provisionTenant(provisioning, { slug, name: 'Resumed Co', plan: 'free' });
    const tenant = (await findTenantBySlug(deps.db, slug))!;
    const [database] = await serverQuery<{ oid: number }>('SELECT oid::int AS oid FROM pg_database WHERE datname = $1', [tenant.dbName]);
    expect(readyBefore.has(database!.oid)).toBe(false);
    const own = await connectAs(tenant.dbName!, tenant.dbRole!, deps.secrets.open(tenant.dbSecret!));
    await own.query('SELECT count(*) FROM users');
    await own.end();
  });
});
