import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { Readable } from 'node:stream';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';
import { provisioningDepsOf } from '../src/domain/provisioning';
import { TenantImports } from '../src/domain/tenant-transfer';

/**
 * Tenant export and import through the gateway (#14): the whole database out as one archive, back in as
 * a new tenant with the same rows; a corrupt, cut-short or foreign archive refused with nothing made; a
 * load that fails takes its half-made tenant with it.
 */
describe('tenant export and import (through the gateway)', () => {
  let platform: TestPlatform;
  let operator: string;
  let source: PlatformTenant;

  const admin = () => ({
    get: (path: string) => request(platform.gateway.url).get(path).set('Authorization', `Bearer ${operator}`),
    post: (path: string) => request(platform.gateway.url).post(path).set('Authorization', `Bearer ${operator}`),
  });
  const exportOf = async (tenantId: string) => {
    const res = await admin()
      .get(`/api/v1/admin/tenants/${tenantId}/export`)
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done(null, Buffer.concat(chunks)));
      });
    return res;
  };
  const importArchive = (archive: Buffer, query: Record<string, string> = {}) =>
    admin().post('/api/v1/admin/tenants/import').query(query).set('Content-Type', 'application/gzip').send(archive);
  const linesOf = (archive: Buffer) =>
    gunzipSync(archive)
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const rebuild = (lines: object[]) => gzipSync(`${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
  const slug = () => `imported-${randomBytes(4).toString('hex')}`;

  async function finished(jobId: string) {
    const started = Date.now();
    for (;;) {
      const job = await admin().get(`/api/v1/admin/tenant-imports/${jobId}`);
      if (job.body.status !== 'running') return job;
      if (Date.now() - started > 60_000) throw new Error('the import did not finish within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const tenantCount = async () => Number((await platform.deps.admin!.db.query('SELECT count(*) FROM tenants')).rows[0].count);
  const tableCounts = async (tenantId: string) =>
    Object.fromEntries(
      (
        await platform.query<{ name: string; rows: number }>(
          tenantId,
          `SELECT relname AS name, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', relname), false, true, '')))[1]::text::int AS rows
             FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND relname NOT IN ('schema_migrations', 'refresh_tokens') ORDER BY relname`,
        )
      ).map((row) => [row.name, row.rows]),
    );

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['crm', 'client'] });
    operator = await platform.newOperatorToken();
    source = await platform.newTenant();
    for (let i = 0; i < 25; i++) {
      const created = await platform
        .as(source)
        .post('/api/v1/client/clients')
        .send({
          name: `Client ${i} — Zoë “quoted” \\ back\\slash`,
          email: `c${i}@example.com`,
          tags: ['a', `t${i % 3}`],
          customFields: { n: i, vip: i % 2 === 0, note: 'ünïcode ✓' },
        });
      expect({ status: created.status, body: created.status === 201 ? undefined : created.body }).toEqual({ status: 201 });
    }
    const pipelines = await platform.as(source).get('/api/v1/crm/pipelines');
    const stages = pipelines.body.items[0].stages as { id: string }[];
    for (let i = 0; i < 5; i++) {
      const deal = await platform
        .as(source)
        .post('/api/v1/crm/deals')
        .send({ title: `Deal ${i}`, currency: 'EUR', valueMinor: 100_050 + i, probability: 40 });
      expect(deal.status).toBe(201);
      expect((await platform.as(source).post(`/api/v1/crm/deals/${deal.body.id}/move`).send({ stageId: stages[2]!.id })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when a tenant is exported and imported, then the new tenant has the same rows in every table, its own key, and carries on writing', async () => {
    const exported = await exportOf(source.id);
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toBe('application/gzip');
    expect(exported.headers['content-disposition']).toMatch(/^attachment; filename=".+\.tenant\.jsonl\.gz"$/);
    const lines = linesOf(exported.body);
    expect(lines[0]).toMatchObject({ $archive: 'codex-metatron-tenant', version: 1, tenant: { id: source.id } });
    expect(lines.at(-1)).toMatchObject({ $trailer: { tables: expect.objectContaining({ clients: 25, deals: 5 }) } });

    const newSlug = slug();
    const started = await importArchive(exported.body, { slug: newSlug, name: 'The copy' });
    expect(started.status).toBe(202);
    expect(started.headers.location).toBe(`/api/v1/admin/tenant-imports/${started.body.id}`);
    expect(started.body).toMatchObject({ status: 'running', slug: newSlug, sourceTenantId: source.id, apiKey: null });

    const done = await finished(started.body.id);
    expect(done.body).toMatchObject({ status: 'completed', rowsLoaded: started.body.rowsTotal, failure: null });
    const key = done.body.apiKey.key as string;
    expect(key).toMatch(/^cmk_/);
    expect((await admin().get(`/api/v1/admin/tenant-imports/${started.body.id}`)).body.apiKey).toBeNull();
    const copy = done.body.tenantId as string;
    expect((await admin().get(`/api/v1/admin/tenants/${copy}`)).body).toMatchObject({ slug: newSlug, name: 'The copy', status: 'active' });

    expect(await tableCounts(copy)).toEqual(await tableCounts(source.id));
    const everyClient = 'SELECT * FROM clients ORDER BY id';
    expect(await platform.query(copy, everyClient)).toEqual(await platform.query(source.id, everyClient));
    const history = 'SELECT id, deal_id, from_stage_id, to_stage_id, moved_at FROM deal_stage_history ORDER BY id';
    expect(await platform.query(copy, history)).toEqual(await platform.query(source.id, history));

    // The copy's users sign in again (sessions do not travel) and write on: identity columns continue past the imported rows.
    const owner = (await platform.query<{ email: string }>(source.id, `SELECT email FROM users WHERE role = 'owner'`))[0]!.email;
    const signedIn = await request(platform.gateway.url)
      .post('/api/v1/auth/login')
      .set('X-API-Key', key)
      .send({ email: owner, password: 'correct horse battery' });
    expect(signedIn.status).toBe(200);
    const copyTenant = { id: copy, key, ownerId: signedIn.body.user.id, token: signedIn.body.accessToken };
    const list = await platform.as(copyTenant).get('/api/v1/client/clients?limit=100');
    expect(list.body.items).toHaveLength(25);
    const deal = (await platform.as(copyTenant).get('/api/v1/crm/deals')).body.items[0];
    const stages = (await platform.as(copyTenant).get('/api/v1/crm/pipelines')).body.items[0].stages as { id: string }[];
    expect((await platform.as(copyTenant).post(`/api/v1/crm/deals/${deal.id}/move`).send({ stageId: stages[3]!.id })).status).toBe(200);
    // And the two tenants stay apart: the copy's key reads none of the source's later writes.
    await platform.as(source).post('/api/v1/client/clients').send({ name: 'Only in the source' });
    expect((await platform.as(copyTenant).get('/api/v1/client/clients?q=Only')).body.items).toHaveLength(0);
    expect((await platform.as(source, copyTenant.token).get('/api/v1/client/clients')).status).toBe(403);

    const { rows } = await platform.deps.admin!.db.query(`SELECT action FROM audit_log WHERE target_id IN ($1, $2) ORDER BY seq`, [source.id, copy]);
    expect(rows.map((row) => row.action)).toEqual(expect.arrayContaining(['tenant.exported', 'tenant.created', 'tenant.imported']));
  });

  it('when a tenant is suspended, then it still exports', async () => {
    const suspended = await platform.newTenant();
    expect((await admin().post(`/api/v1/admin/tenants/${suspended.id}/suspend`).send({})).status).toBe(200);
    const exported = await exportOf(suspended.id);
    expect(exported.status).toBe(200);
    expect(linesOf(exported.body).at(-1)).toHaveProperty('$trailer');
  });

  it('when an archive is corrupt, cut short, foreign or from another schema, then 400 ARCHIVE_INVALID naming the line, and nothing is made', async () => {
    const archive = (await exportOf(source.id)).body as Buffer;
    const lines = linesOf(archive);
    const before = await tenantCount();
    const jobsBefore = Number((await platform.deps.admin!.db.query('SELECT count(*) FROM tenant_imports')).rows[0].count);
    const clientsAt = lines.findIndex((line) => line.$table === 'clients');
    const cases: [string, Buffer][] = [
      ['cut short (gzip)', archive.subarray(0, Math.floor(archive.length / 2))],
      ['not gzip', Buffer.from('{"$archive":"codex-metatron-tenant"}\n')],
      ['no trailer', rebuild(lines.slice(0, -1))],
      ['a row count that disagrees', rebuild(lines.map((line) => (line.$end === 'clients' ? { ...line, rows: 24 } : line)))],
      ['a row missing', rebuild(lines.filter((_line, i) => i !== clientsAt + 1))],
      ['a column this platform lacks', rebuild(lines.map((line, i) => (i === clientsAt + 1 ? { ...line, surprise: 1 } : line)))],
      [
        'another tenant schema',
        rebuild(
          lines.map((line, i) =>
            i === 0
              ? { ...line, schema: { migrations: [...(line.schema as { migrations: object[] }).migrations, { name: '9999_future.sql', checksum: 'x' }] } }
              : line,
          ),
        ),
      ],
      ['not an archive', rebuild([{ hello: 'world' }])],
    ];
    for (const [what, body] of cases) {
      const res = await importArchive(body, { slug: slug() });
      expect({ what, status: res.status, code: res.body.error?.code }).toEqual({ what, status: 400, code: 'ARCHIVE_INVALID' });
      expect(res.body.error.details[0].path).toMatch(/^archive\.line\.\d+$/);
    }
    expect(await tenantCount()).toBe(before);
    expect(Number((await platform.deps.admin!.db.query('SELECT count(*) FROM tenant_imports')).rows[0].count)).toBe(jobsBefore);

    expect((await importArchive(archive)).status).toBe(409); // the source's own slug is taken
    const wrongType = await admin().post('/api/v1/admin/tenants/import').set('Content-Type', 'application/json').send({});
    expect(wrongType.status).toBe(415);
    expect((await importArchive(archive, { slug: 'Not A Slug' })).status).toBe(400);
  });

  it('when rows in an archive do not load, then the job fails saying why and the half-made tenant is gone: row, database and role', async () => {
    const lines = linesOf((await exportOf(source.id)).body);
    const clientsAt = lines.findIndex((line) => line.$table === 'clients');
    const broken = rebuild(lines.map((line, i) => (i === clientsAt + 1 ? { ...line, id: 'not-a-uuid' } : line)));
    const before = await tenantCount();
    const newSlug = slug();
    const started = await importArchive(broken, { slug: newSlug });
    expect(started.status).toBe(202);
    const done = await finished(started.body.id);
    expect(done.body).toMatchObject({ status: 'failed', tenantId: expect.any(String), apiKey: null });
    expect(done.body.failure).toMatch(/rows do not load: invalid input syntax for type uuid/);
    expect(await tenantCount()).toBe(before);
    const made = `tenant_${(done.body.tenantId as string).replaceAll('-', '')}`;
    const { rows } = await platform.deps.admin!.db.query(
      `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1)::int AS databases, (SELECT count(*) FROM pg_roles WHERE rolname = $1)::int AS roles`,
      [made],
    );
    expect(rows[0]).toEqual({ databases: 0, roles: 0 });
    // The slug is free again.
    expect((await importArchive((await exportOf(source.id)).body, { slug: newSlug })).status).toBe(202);
  });

  it('when the tenant or the import is unknown, then 404', async () => {
    expect((await admin().get('/api/v1/admin/tenants/00000000-0000-4000-8000-000000000000/export')).status).toBe(404);
    expect((await admin().get('/api/v1/admin/tenant-imports/00000000-0000-4000-8000-000000000000')).body.error.code).toBe('TENANT_IMPORT_NOT_FOUND');
  });

  it('when an archive takes longer to read than the answer waits, then 202 at once, and a bad one fails its job with the reason and nothing made', async () => {
    const admin = platform.deps.admin! as Parameters<typeof provisioningDepsOf>[0];
    const imports = new TenantImports(
      { ...provisioningDepsOf(admin), templateDatabase: platform.bed.template, maxBytes: 1e9, audit: admin.audit },
      undefined,
      0,
    );
    const lines = linesOf((await exportOf(source.id)).body);
    const before = await tenantCount();
    const job = await imports.start(Readable.from([rebuild(lines.slice(0, -1))]), { slug: slug() }, { actorType: 'system', actorId: 'test' });
    expect(job.status).toBe('running');
    await imports.drain();
    const done = await imports.view(job.id);
    expect(done).toMatchObject({ status: 'failed', tenantId: null, failure: expect.stringMatching(/without its trailer/) });
    expect(await tenantCount()).toBe(before);

    const good = await imports.start(Readable.from([rebuild(lines)]), { slug: slug() }, { actorType: 'system', actorId: 'test' });
    await imports.drain();
    expect(await imports.view(good.id)).toMatchObject({ status: 'completed', rowsLoaded: expect.any(Number), apiKey: { key: expect.stringMatching(/^cmk_/) } });
  });

  it('when the same archive is imported twice at once under one slug, then one tenant results, whole, and the other import fails', async () => {
    const archive = (await exportOf(source.id)).body as Buffer;
    const newSlug = slug();
    const answers = await Promise.all([importArchive(archive, { slug: newSlug }), importArchive(archive, { slug: newSlug })]);
    const outcomes = await Promise.all(answers.map(async (answer) => (answer.status === 202 ? (await finished(answer.body.id)).body.status : answer.status)));
    expect(outcomes.filter((outcome) => outcome === 'completed')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'failed' || outcome === 409)).toHaveLength(1);
    const made = await platform.deps.admin!.db.query<{ id: string; status: string }>('SELECT id, status FROM tenants WHERE slug = $1', [newSlug]);
    expect(made.rows).toEqual([{ id: expect.any(String), status: 'active' }]);
    expect((await tableCounts(made.rows[0]!.id)).clients).toBe((await tableCounts(source.id)).clients);
  });
});
