import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { testServerUrl } from './support/database';
import { runTypeScript } from './support/processes';
import { provisionTestTenant } from './support/provisioning';
import { createTestDeps } from './support/service-deps';
import { createTenantTestBed, type TenantTestBed } from './support/tenant-test-bed';
import { connectAs } from './support/tenants';

/** Row count and a checksum of every table's rows, per database. */
async function fingerprint(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    const result: Record<string, string> = {};
    for (const { name } of tables) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM ${client.escapeIdentifier(name)} t`,
      );
      result[name] = `${rows[0].n}:${rows[0].sum}`;
    }
    return result;
  } finally {
    await client.end();
  }
}

/**
 * `npm run backup` then `npm run restore`, as an operator runs them: the
 * master and every tenant database dumped with a checksummed manifest; all
 * dropped; restored into the emptied server; every table's rows identical,
 * and each tenant's own role logs in again with the password the platform keeps.
 */
describe('backup and restore (pg_dump / pg_restore)', () => {
  let bed: TenantTestBed;
  let deps: ServiceDeps<'admin'>;
  let out: string;
  const tenants: Array<{ id: string; database: string; role: string; password: string }> = [];

  beforeAll(async () => {
    bed = await createTenantTestBed();
    deps = createTestDeps('admin', bed.db.url);
    out = await mkdtemp(path.join(tmpdir(), 'codex-backup-'));
    for (let i = 0; i < 2; i += 1) {
      const { tenant } = await provisionTestTenant(deps, bed.template);
      const row = (await deps.db.query('SELECT db_name, db_role, db_secret FROM tenants WHERE id = $1', [tenant.id])).rows[0];
      tenants.push({ id: tenant.id, database: row.db_name, role: row.db_role, password: deps.secrets.open(row.db_secret) });
      await deps.tenants.withConnection(tenant.id, async (db) => {
        await db.query(`INSERT INTO users (email, name) SELECT 'u' || g || '@t${i}.example', 'User ' || g FROM generate_series(1, 50) g`);
        await db.query(
          `INSERT INTO clients (name, email, tags, custom_fields, created_by) SELECT 'Client ' || g, 'c' || g || '@t${i}.example', ARRAY['a','b'], '{"tier": 1}', gen_random_uuid() FROM generate_series(1, 200) g`,
        );
      });
    }
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await bed.drop().catch(() => undefined);
    await rm(out, { recursive: true, force: true });
  });

  const env = () => ({
    DATABASE_URL: bed.db.url,
    SECRETS_KEYS: deps.config.secretKeys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(','),
    SERVICE_JWT_SECRET: deps.config.serviceJwtSecret,
  });

  it('when backed up, dropped and restored into the emptied server, then every table matches and tenant roles log in again', async () => {
    const urls = [bed.db.url, ...tenants.map((t) => testServerUrl(t.database))];
    const before = await Promise.all(urls.map(fingerprint));
    await deps.tenants.close();

    const backup = runTypeScript('scripts/backup.ts', env(), ['--out', out]);
    expect((await backup.exited).code).toBe(0);
    expect(backup.output()).toContain('and 2 tenant databases');

    // Disaster: the databases and the tenants' roles are gone.
    await closeServiceDeps(deps);
    const admin = new pg.Client({ connectionString: testServerUrl() });
    await admin.connect();
    for (const database of [bed.db.name, ...tenants.map((t) => t.database)]) await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
    for (const { role } of tenants) await admin.query(`DROP ROLE ${role}`);
    await admin.end();

    const restore = runTypeScript('scripts/restore.ts', env(), [out]);
    expect((await restore.exited).code).toBe(0);
    expect(restore.output()).toContain('2 tenant roles');

    const after = await Promise.all(urls.map(fingerprint));
    expect(after).toEqual(before);
    expect(Object.keys(after[1]!)).toEqual(expect.arrayContaining(['users', 'clients']));
    for (const tenant of tenants) {
      const own = await connectAs(tenant.database, tenant.role, tenant.password);
      expect((await own.query('SELECT count(*)::int AS n FROM clients')).rows[0].n).toBe(200);
      await own.end();
      await expect(connectAs(bed.db.name, tenant.role, tenant.password)).rejects.toMatchObject({ code: '42501' });
    }
    deps = createTestDeps('admin', bed.db.url);
  });

  it('when a dump file does not match its checksum, or the target already has the databases, then restore refuses and changes nothing', async () => {
    const tampered = runTypeScript('scripts/restore.ts', env(), [out]);
    expect((await tampered.exited).code).toBe(1);
    expect(tampered.output()).toContain('already has');
    await writeFile(path.join(out, 'master.dump'), randomBytes(64), { flag: 'a' });
    const corrupt = runTypeScript('scripts/restore.ts', env(), [out]);
    expect((await corrupt.exited).code).toBe(1);
    expect(corrupt.output()).toContain('master.dump does not match its checksum');
  });
});
