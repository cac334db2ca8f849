import { randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { closeServiceDeps, hashApiKey, withDatabase, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { lockDownSharedDatabases, withServerAdmin } from '../src/db/tenant-databases';
import { findTenantBySlug } from '../src/db/tenants-repo';
import { provisionTenant, type ProvisioningDeps, type ProvisioningStep } from '../src/domain/provisioning';
import { serverQuery, testServerUrl, type TestDatabase } from '../../../test/support/database';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { createTestDeps } from '../../../test/support/service-deps';
import { connectAs } from '../../../test/support/tenants';
import { serviceAuth } from '../../../test/support/service-auth';

describe('tenant provisioning (admin service)', () => {
  let bed: TenantTestBed;
  let db: TestDatabase;
  let deps: ServiceDeps<'admin'>;
  let app: ReturnType<typeof createApp>;
  let provisioning: ProvisioningDeps;
  let templateDatabase: string;

  const asAdmin = (role = 'super_admin') => serviceAuth(deps, 'admin', { adminId: 'a1', roles: [role] });
  const uniqueSlug = () => `t-${randomBytes(4).toString('hex')}`;

  async function create(body: Record<string, unknown>, auth = asAdmin()) {
    return request(app).post('/api/v1/admin/tenants').set('Authorization', auth).send(body);
  }

  beforeAll(async () => {
    bed = await createTenantTestBed();
    db = bed.db;
    templateDatabase = bed.template;
    deps = createTestDeps('admin', db.url, { TENANT_TEMPLATE_DATABASE: templateDatabase });
    app = createApp(deps);
    provisioning = {
      db: deps.db,
      serverUrl: deps.config.databaseUrl,
      templateDatabase,
      secrets: deps.secrets,
      logger: deps.logger,
      settings: deps.platformConfig,
    };
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await bed.drop();
  });

  it('when an admin creates a tenant, then it gets its own migrated database, login role and a key shown once', async () => {
    const slug = uniqueSlug();
    const res = await create({ name: 'Acme', slug });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/admin/tenants/${res.body.tenant.id}`);
    expect(res.body.tenant).toMatchObject({ slug, name: 'Acme', status: 'active', plan: 'free' });
    expect(res.body.tenant).not.toHaveProperty('dbSecret');
    expect(res.body.apiKey.key).toMatch(/^cmk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);

    const stored = await deps.db.query('SELECT prefix, key_hash FROM api_keys WHERE tenant_id = $1', [res.body.tenant.id]);
    expect(stored.rows).toEqual([{ prefix: res.body.apiKey.prefix, key_hash: hashApiKey(res.body.apiKey.key) }]);
    const tenant = (await findTenantBySlug(deps.db, slug))!;
    expect(tenant.dbSecret).toMatch(/^v1:/);

    // The tenant pool cache reaches it with the tenant's own role and decrypted password.
    const tables = await deps.tenants.withConnection(
      tenant.id,
      async (client) => (await client.query(`SELECT current_user AS role, to_regclass('public.users') IS NOT NULL AS has_users`)).rows[0],
    );
    expect(tables).toEqual({ role: tenant.dbRole, has_users: true });
  });

  it('when the template was built from a migration file edited since, then it is rebuilt and the new tenant gets the current files', async () => {
    const templateClient = new pg.Client({ connectionString: withDatabase(testServerUrl(), templateDatabase) });
    await templateClient.connect();
    try {
      // As if the last tenant migration had been reworked after the template applied it: its history has the
      // old checksum, and its marker names the files it was built from, which are not today's.
      await templateClient.query('UPDATE schema_migrations SET checksum = $1 WHERE name = (SELECT max(name) FROM schema_migrations)', ['0'.repeat(64)]);
      await templateClient.query(`COMMENT ON DATABASE ${templateClient.escapeIdentifier(templateDatabase)} IS 'codex tenant migrations (older files)'`);
    } finally {
      await templateClient.end();
    }
    const res = await create({ name: 'After an edit', slug: uniqueSlug() });
    expect(res.status).toBe(201);
    const tenant = (await findTenantBySlug(deps.db, res.body.tenant.slug))!;
    const recorded = await deps.tenants.withConnection(
      tenant.id,
      async (client) => (await client.query<{ checksum: string }>('SELECT checksum FROM schema_migrations')).rows,
    );
    expect(recorded.length).toBeGreaterThan(10);
    expect(recorded.every((row) => row.checksum !== '0'.repeat(64))).toBe(true);
  });

  it("when a tenant's role tries another tenant's database, the master or a maintenance database, then PostgreSQL refuses", async () => {
    const a = (await create({ name: 'A', slug: uniqueSlug() })).body.tenant;
    const b = (await create({ name: 'B', slug: uniqueSlug() })).body.tenant;
    const tenantA = (await findTenantBySlug(deps.db, a.slug))!;
    const tenantB = (await findTenantBySlug(deps.db, b.slug))!;
    const password = deps.secrets.open(tenantA.dbSecret!);
    const own = await connectAs(tenantA.dbName!, tenantA.dbRole!, password);
    await own.query('INSERT INTO users (email) VALUES ($1)', ['x@a.example']);
    // Its rights come through the access group every tenant role is in: they use tables, never change the schema.
    await expect(own.query('CREATE TABLE mine (id int)')).rejects.toMatchObject({ code: '42501' });
    await expect(own.query('DROP TABLE users')).rejects.toMatchObject({ code: '42501' });
    // Nor can it list the server's other databases, roles or sessions (their names carry tenant ids).
    for (const catalog of ['pg_database', 'pg_stat_database', 'pg_stat_activity', 'pg_roles']) {
      await expect(own.query(`SELECT * FROM pg_catalog.${catalog}`)).rejects.toMatchObject({ code: '42501' });
    }
    await own.end();
    await expect(connectAs(tenantB.dbName!, tenantA.dbRole!, password)).rejects.toMatchObject({ code: '42501' });
    await expect(connectAs(db.name, tenantA.dbRole!, password)).rejects.toMatchObject({ code: '42501' });
    for (const other of [templateDatabase, 'postgres', 'template1']) {
      await expect(connectAs(other, tenantA.dbRole!, password)).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('when the slug is taken, then 409 and no second database', async () => {
    const slug = uniqueSlug();
    await create({ name: 'First', slug });
    const tenantDatabases = async () =>
      new Set((await serverQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'tenant\\_%'`)).map((r) => r.datname));
    const before = await tenantDatabases();
    const res = await create({ name: 'Second', slug });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('TENANT_SLUG_TAKEN');
    // Other test files provision tenants meanwhile; a database made here would be named by a tenant row of this master.
    const madeMeanwhile = [...(await tenantDatabases())].filter((name) => !before.has(name));
    const ours = (await deps.db.query<{ db_name: string }>('SELECT db_name FROM tenants')).rows.map((r) => r.db_name);
    expect(madeMeanwhile.filter((name) => ours.includes(name))).toEqual([]);
    expect((await deps.db.query('SELECT 1 FROM tenants WHERE slug = $1', [slug])).rowCount).toBe(1);
  });

  it('when several provisioners lock down the shared databases at once (other tenants, other instances), then none fails', async () => {
    const master = new URL(db.url).pathname.slice(1);
    const runs = Array.from({ length: 8 }, () => withServerAdmin(deps.config.databaseUrl, (admin) => lockDownSharedDatabases(admin, master)));
    await expect(Promise.all(runs)).resolves.toHaveLength(8);
  });

  it('when the same slug is provisioned twice at once, then one database is made and one request wins', async () => {
    const slug = uniqueSlug();
    const results = await Promise.all([create({ name: 'Twin', slug }), create({ name: 'Twin', slug })]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const tenant = (await findTenantBySlug(deps.db, slug))!;
    expect(await serverQuery('SELECT 1 FROM pg_database WHERE datname = $1', [tenant.dbName])).toHaveLength(1);
    const keys = await deps.db.query('SELECT 1 FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL', [tenant.id]);
    expect(keys.rowCount).toBe(1);
  });

  const badBodies: Array<[string, Record<string, unknown>, string]> = [
    ['SQL in the slug', { name: 'x', slug: 'a"; DROP DATABASE postgres; --' }, 'body.slug'],
    ['a path in the slug', { name: 'x', slug: '../etc' }, 'body.slug'],
    ['an upper-case slug', { name: 'x', slug: 'Acme' }, 'body.slug'],
    ['a reserved slug', { name: 'x', slug: 'admin' }, 'body.slug'],
    ['no name', { slug: 'fine-slug' }, 'body.name'],
    ['an unknown field', { name: 'x', slug: 'fine-slug', dbName: 'postgres' }, 'body'],
  ];
  it.each(badBodies)('when the body has %s, then 400 naming the field and nothing is written', async (_case, body, path) => {
    const before = await deps.db.query('SELECT count(*)::int AS n FROM tenants');
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect((await deps.db.query('SELECT count(*)::int AS n FROM tenants')).rows[0].n).toBe(before.rows[0].n);
  });

  const steps: ProvisioningStep[] = ['claimed', 'role', 'database', 'locked-down', 'migrated'];
  it.each(steps)('when provisioning fails right after the %s step, then a retry with the same slug finishes it exactly once', async (failAt) => {
    const slug = uniqueSlug();
    await expect(
      provisionTenant(provisioning, { slug, name: 'Crashy', plan: 'free' }, (step) => {
        if (step === failAt) throw new Error(`crash after ${step}`);
      }),
    ).rejects.toThrow(`crash after ${failAt}`);
    expect(['provisioning', 'failed']).toContain((await findTenantBySlug(deps.db, slug))!.status);

    const res = await create({ name: 'Crashy', slug });
    expect(res.status).toBe(201);
    const tenant = (await findTenantBySlug(deps.db, slug))!;
    expect(tenant.status).toBe('active');
    expect(await serverQuery('SELECT 1 FROM pg_database WHERE datname = $1', [tenant.dbName])).toHaveLength(1);
    const live = await deps.db.query('SELECT key_hash FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL', [tenant.id]);
    expect(live.rows).toEqual([{ key_hash: hashApiKey(res.body.apiKey.key) }]);
    expect(await deps.tenants.withConnection(tenant.id, async (c) => (await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n)).toBe(0);
  });

  describe('who may call', () => {
    it('when no service token comes with the request, then 401', async () => {
      const res = await request(app).post('/api/v1/admin/tenants').send({ name: 'x', slug: uniqueSlug() });
      expect(res.status).toBe(401);
    });

    it('when a viewer admin lists tenants, then 200; when it creates one, then 403', async () => {
      expect((await request(app).get('/api/v1/admin/tenants').set('Authorization', asAdmin('viewer'))).status).toBe(200);
      const res = await create({ name: 'x', slug: uniqueSlug() }, asAdmin('viewer'));
      expect(res.status).toBe(403);
    });

    it("when a tenant owner's identity calls admin routes, then 403", async () => {
      const auth = serviceAuth(deps, 'admin', { tenantId: '5b7f5f0c-4a3e-4a6e-8f0e-0d6f0b7e1a11', userId: 'u1', roles: ['owner', 'super_admin'] });
      const res = await request(app).get('/api/v1/admin/tenants').set('Authorization', auth);
      expect(res.status).toBe(401);
    });

    it('when a token meant for another service is used, then 401', async () => {
      const auth = serviceAuth(deps, 'crm', { adminId: 'a1', roles: ['super_admin'] });
      expect((await request(app).get('/api/v1/admin/tenants').set('Authorization', auth)).status).toBe(401);
    });
  });

  describe('API keys and reads', () => {
    let tenantA: { id: string };
    let tenantB: { id: string; slug: string };

    beforeAll(async () => {
      tenantA = (await create({ name: 'Keys A', slug: uniqueSlug() })).body.tenant;
      tenantB = (await create({ name: 'Keys B', slug: uniqueSlug() })).body.tenant;
    });

    it('when another key is issued, then it is shown once and listings show only prefixes', async () => {
      const issued = await request(app).post(`/api/v1/admin/tenants/${tenantA.id}/api-keys`).set('Authorization', asAdmin()).send({ name: 'ci' });
      expect(issued.status).toBe(201);
      expect(issued.body.key).toMatch(/^cmk_/);
      const list = await request(app).get(`/api/v1/admin/tenants/${tenantA.id}/api-keys`).set('Authorization', asAdmin());
      expect(list.body.items).toHaveLength(2);
      expect(JSON.stringify(list.body)).not.toContain(issued.body.key);
    });

    it("when tenant B's path is used to revoke tenant A's key, then 404 and the key stays live", async () => {
      const issued = await request(app).post(`/api/v1/admin/tenants/${tenantA.id}/api-keys`).set('Authorization', asAdmin()).send({});
      const res = await request(app).delete(`/api/v1/admin/tenants/${tenantB.id}/api-keys/${issued.body.id}`).set('Authorization', asAdmin());
      expect(res.status).toBe(404);
      const row = await deps.db.query('SELECT revoked_at FROM api_keys WHERE id = $1', [issued.body.id]);
      expect(row.rows[0].revoked_at).toBeNull();
      const own = await request(app).delete(`/api/v1/admin/tenants/${tenantA.id}/api-keys/${issued.body.id}`).set('Authorization', asAdmin());
      expect(own.status).toBe(204);
    });

    it("when an admin creates, renames and suspends a tenant and issues and revokes a key, then each is in the audit log as that admin's", async () => {
      const admin = serviceAuth(deps, 'admin', { adminId: 'audited-admin', roles: ['admin'] });
      const created = await create({ name: 'Audited', slug: uniqueSlug() }, admin);
      const id = created.body.tenant.id as string;
      expect((await request(app).patch(`/api/v1/admin/tenants/${id}`).set('Authorization', admin).send({ name: 'Audited Co' })).status).toBe(200);
      expect((await request(app).patch(`/api/v1/admin/tenants/${id}`).set('Authorization', admin).send({ status: 'suspended' })).status).toBe(200);
      const key = await request(app).post(`/api/v1/admin/tenants/${id}/api-keys`).set('Authorization', admin).send({ name: 'rotated' });
      expect((await request(app).delete(`/api/v1/admin/tenants/${id}/api-keys/${key.body.id}`).set('Authorization', admin)).status).toBe(204);
      // A refused change leaves no entry.
      expect((await request(app).delete(`/api/v1/admin/tenants/${tenantB.id}/api-keys/${key.body.id}`).set('Authorization', admin)).status).toBe(404);

      const { rows } = await deps.db.query(
        'SELECT actor_type, actor_id, action, target_type, target_id, details FROM audit_log WHERE tenant_id = $1 ORDER BY seq',
        [id],
      );
      expect(rows).toEqual([
        expect.objectContaining({
          actor_id: 'audited-admin',
          action: 'tenant.created',
          target_id: id,
          details: expect.objectContaining({ after: expect.objectContaining({ name: 'Audited' }) }),
        }),
        expect.objectContaining({
          action: 'tenant.updated',
          details: { before: { name: 'Audited', status: 'active' }, after: { name: 'Audited Co', status: 'active' } },
        }),
        expect.objectContaining({
          action: 'tenant.suspended',
          details: { reason: 'admin', before: { name: 'Audited Co', status: 'active' }, after: { name: 'Audited Co', status: 'suspended' } },
        }),
        expect.objectContaining({
          action: 'api_key.issued',
          target_type: 'api_key',
          target_id: key.body.id,
          details: { after: { name: 'rotated', prefix: key.body.prefix } },
        }),
        expect.objectContaining({ action: 'api_key.revoked', target_type: 'api_key', target_id: key.body.id }),
      ]);
      expect(rows.every((row) => row.actor_type === 'admin' && row.actor_id === 'audited-admin')).toBe(true);
      const verified = await request(app).get('/api/v1/admin/audit-log/verify').set('Authorization', admin);
      expect(verified.body).toMatchObject({ valid: true, firstBreak: null });
    });

    it('when a tenant id is unknown or malformed, then 404 or 400', async () => {
      const unknown = await request(app).get('/api/v1/admin/tenants/7d0f2b1e-1111-4a4a-9a9a-123456789abc').set('Authorization', asAdmin());
      expect(unknown.status).toBe(404);
      const malformed = await request(app).get('/api/v1/admin/tenants/1%27%20OR%201=1').set('Authorization', asAdmin());
      expect(malformed.status).toBe(400);
    });

    it('when an admin suspends a tenant and sets invite-only sign-up, then both are stored, its pooled connections close; bad changes are 400', async () => {
      await deps.tenants.withConnection(tenantB.id, (db) => db.query('SELECT 1'));
      const poolsBefore = deps.tenants.stats().pools;
      const res = await request(app)
        .patch(`/api/v1/admin/tenants/${tenantB.id}`)
        .set('Authorization', asAdmin())
        .send({ status: 'suspended', settings: { signup: 'invite' } });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('suspended');
      expect(deps.tenants.stats().pools).toBe(poolsBefore - 1);
      const row = await deps.db.query(`SELECT settings->>'signup' AS signup FROM tenants WHERE id = $1`, [tenantB.id]);
      expect(row.rows[0].signup).toBe('invite');
      expect((await request(app).patch(`/api/v1/admin/tenants/${tenantB.id}`).set('Authorization', asAdmin()).send({ status: 'deleted' })).status).toBe(400);
      expect((await request(app).patch(`/api/v1/admin/tenants/${tenantB.id}`).set('Authorization', asAdmin()).send({})).status).toBe(400);
      expect((await request(app).patch(`/api/v1/admin/tenants/${tenantB.id}`).set('Authorization', asAdmin('viewer')).send({ status: 'active' })).status).toBe(
        403,
      );
      expect((await request(app).patch(`/api/v1/admin/tenants/${tenantB.id}`).set('Authorization', asAdmin()).send({ status: 'active' })).body.status).toBe(
        'active',
      );
    });

    it('when tenants are listed with a filter and a page size, then the page and total follow them', async () => {
      const res = await request(app).get('/api/v1/admin/tenants?status=active&limit=1').set('Authorization', asAdmin('support'));
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(1);
      expect(res.body.total).toBeGreaterThanOrEqual(2);
      const bad = await request(app).get('/api/v1/admin/tenants?status=nope&limit=1000').set('Authorization', asAdmin());
      expect(bad.status).toBe(400);
    });

    it('when tenants are searched, then slug or name matches any case, and LIKE wildcards are taken literally', async () => {
      const bySlug = await request(app)
        .get(`/api/v1/admin/tenants?q=${encodeURIComponent(tenantB.slug.toUpperCase())}`)
        .set('Authorization', asAdmin('viewer'));
      expect(bySlug.status).toBe(200);
      expect(bySlug.body.items.map((tenant: { id: string }) => tenant.id)).toEqual([tenantB.id]);
      expect(bySlug.body.total).toBe(1);
      const wildcard = await request(app).get('/api/v1/admin/tenants?q=%25').set('Authorization', asAdmin());
      expect(wildcard.body.items).toEqual([]);
      expect(
        (
          await request(app)
            .get(`/api/v1/admin/tenants?q=${'x'.repeat(101)}`)
            .set('Authorization', asAdmin())
        ).status,
      ).toBe(400);
    });
  });
});

describe('tenant provisioning with an Idempotency-Key', () => {
  let bed: TenantTestBed;
  let deps: ServiceDeps<'admin'>;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    bed = await createTenantTestBed();
    deps = createTestDeps('admin', bed.db.url, { TENANT_TEMPLATE_DATABASE: bed.template });
    app = createApp(deps);
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await bed.drop();
  });

  it('when the same request is retried with its key, then the first answer (with the same API key) comes back and one database exists', async () => {
    const auth = serviceAuth(deps, 'admin', { adminId: 'a1', roles: ['super_admin'] });
    const body = { name: 'Retry Co', slug: `t-${randomBytes(4).toString('hex')}` };
    const first = await request(app).post('/api/v1/admin/tenants').set('Authorization', auth).set('Idempotency-Key', 'create-retry-co-1').send(body);
    const retry = await request(app).post('/api/v1/admin/tenants').set('Authorization', auth).set('Idempotency-Key', 'create-retry-co-1').send(body);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body.apiKey.key).toBe(first.body.apiKey.key);
    expect((await deps.db.query('SELECT count(*)::int AS n FROM tenants')).rows[0].n).toBe(1);
    const other = await request(app)
      .post('/api/v1/admin/tenants')
      .set('Authorization', auth)
      .set('Idempotency-Key', 'create-retry-co-1')
      .send({ ...body, name: 'Other' });
    expect(other.status).toBe(422);
  });
});
