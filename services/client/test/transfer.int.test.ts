import { randomUUID } from 'node:crypto';
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { testServerUrl } from '../../../test/support/database';
import { provisionTestTenant } from '../../../test/support/provisioning';
import { createTestDeps } from '../../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

describe('client import and export', () => {
  let bed: TenantTestBed;
  let deps: ServiceDeps<'client'>;
  let app: ReturnType<typeof createApp>;
  const ownerId = randomUUID();

  const as = (tenantId: string, role = 'owner') => serviceAuth(deps, 'client', { tenantId, userId: ownerId, roles: [role] });
  const newTenant = async () => (await provisionTestTenant(deps, bed.template)).tenant.id;
  const importFile = (tenantId: string, format: 'csv' | 'jsonl', body: string, query = '') =>
    request(app)
      .post(`/api/v1/client/import?format=${format}${query}`)
      .set('Authorization', as(tenantId))
      .set('Content-Type', format === 'csv' ? 'text/csv' : 'application/x-ndjson')
      .send(body);
  const count = (tenantId: string) =>
    deps.tenants.withConnection(
      tenantId,
      async (db) => (await db.query('SELECT count(*)::int AS n FROM clients WHERE deleted_at IS NULL')).rows[0].n as number,
    );

  beforeAll(async () => {
    bed = await createTenantTestBed();
    deps = createTestDeps('client', bed.db.url, { IMPORT_MAX_BYTES: '200000' });
    app = createApp(deps);
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await bed.drop();
  });

  const CSV = [
    'externalId,name,email,status,tags,cf.industry,cf.seats',
    'ext-1,Acme,acme@example.com,active,vip;eu,"""steel""",40',
    'ext-2,Globex,,lead,,,',
    ',Initech,initech@example.com,,us,,',
    'ext-4,Too,many,columns,in,this,row,here,too',
    'ext-5,,no-name@example.com,,,,',
    'ext-6,Umbrella,umbrella@example.com,inactive,,"""pharma""",',
  ].join('\n');

  it('when a CSV has good, malformed and invalid rows, then the good ones import and each bad one is reported by row', async () => {
    const tenant = await newTenant();
    const res = await importFile(tenant, 'csv', CSV);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/client/import/${res.body.id}`);
    expect(res.body).toMatchObject({ status: 'completed', rowsInserted: 4, rowsUpdated: 0, rowsFailed: 2 });
    expect(res.body.errors.map((e: { line: number }) => e.line).sort()).toEqual([5, 6]);
    expect(res.body.errors.find((e: { line: number }) => e.line === 6)).toMatchObject({ field: 'name' });
    const acme = await deps.tenants.withConnection(
      tenant,
      async (db) => (await db.query(`SELECT tags, custom_fields FROM clients WHERE external_id = 'ext-1'`)).rows[0],
    );
    expect(acme).toEqual({ tags: ['vip', 'eu'], custom_fields: { industry: 'steel', seats: 40 } });
    const job = await request(app).get(res.headers.location!).set('Authorization', as(tenant));
    expect(job.body).toMatchObject({ id: res.body.id, rowsRead: 6 });
  });

  it('when the same file is imported again, then nothing is duplicated: rows upsert by external id, else email', async () => {
    const tenant = await newTenant();
    await importFile(tenant, 'csv', CSV);
    const again = await importFile(tenant, 'csv', CSV);
    expect(again.body).toMatchObject({ rowsInserted: 0, rowsUpdated: 4, rowsFailed: 2 });
    expect(await count(tenant)).toBe(4);
  });

  it('when atomic=true and a row is bad, then 422 and nothing is written', async () => {
    const tenant = await newTenant();
    const res = await importFile(tenant, 'csv', CSV, '&atomic=true');
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'IMPORT_REJECTED', details: { rowsFailed: 2 } });
    expect(await count(tenant)).toBe(0);
    const job = await request(app).get(`/api/v1/client/import/${res.body.error.details.jobId}`).set('Authorization', as(tenant));
    expect(job.body).toMatchObject({ status: 'failed', rowsInserted: 0 });
  });

  it('when JSON lines come in several batches with repeated clients, then later lines update earlier ones', async () => {
    const tenant = await newTenant();
    const lines = Array.from({ length: 1_200 }, (_, i) => JSON.stringify({ externalId: `x-${i % 1_000}`, name: `Client ${i}`, tags: ['bulk'] }));
    lines.push('{not json', '[1,2]');
    const res = await importFile(tenant, 'jsonl', lines.join('\n'));
    expect(res.body).toMatchObject({ status: 'completed', rowsRead: 1_202, rowsInserted: 1_000, rowsUpdated: 200, rowsFailed: 2 });
    const updated = await deps.tenants.withConnection(
      tenant,
      async (db) => (await db.query(`SELECT name FROM clients WHERE external_id = 'x-5'`)).rows[0].name,
    );
    expect(updated).toBe('Client 1005');
  });

  it('when exported and imported into a fresh tenant, then the data is identical (CSV and JSON lines)', async () => {
    const source = await newTenant();
    await importFile(source, 'csv', CSV);
    await request(app)
      .post('/api/v1/client/clients')
      .set('Authorization', as(source))
      .send({
        name: '=HYPERLINK("http://evil.example","click")',
        email: 'formula@example.com',
        tags: ['+1'],
        customFields: { note: '@SUM(A1:A9)', flag: true, empty: null },
      });
    for (const format of ['csv', 'jsonl'] as const) {
      const exported = await request(app)
        .get(`/api/v1/client/export?format=${format}`)
        .set('Authorization', as(source))
        .buffer(true)
        .parse((res, done) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => done(null, text));
        });
      expect(exported.status).toBe(200);
      const body = exported.body as string;
      if (format === 'csv') expect(body).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
      const target = await newTenant();
      const imported = await importFile(target, format, body);
      expect(imported.body).toMatchObject({ status: 'completed', rowsFailed: 0, rowsInserted: 5 });
      const snapshot = (tenantId: string) =>
        deps.tenants.withConnection(
          tenantId,
          async (db) => (await db.query(`SELECT external_id, name, email, phone, kind, status, tags, owner_id, custom_fields FROM clients ORDER BY name`)).rows,
        );
      expect(await snapshot(target)).toEqual(await snapshot(source));
    }
  });

  it('when the caller prefers respond-async, then 202 with the running job at once, and its Location shows it finish', async () => {
    const tenant = await newTenant();
    const lines = Array.from({ length: 3_000 }, (_, i) => JSON.stringify({ externalId: `async-${i}`, name: `Async ${i}` }));
    const res = await importFile(tenant, 'jsonl', lines.join('\n')).set('Prefer', 'respond-async');
    expect(res.status).toBe(202);
    expect(res.headers['preference-applied']).toBe('respond-async');
    expect(res.body).toMatchObject({ id: expect.any(String), status: 'running' });
    let job = res.body;
    for (let polls = 0; job.status === 'running' && polls < 200; polls += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = (await request(app).get(res.headers.location!).set('Authorization', as(tenant))).body;
    }
    expect(job).toMatchObject({ status: 'completed', rowsRead: 3_000, rowsInserted: 3_000 });
    expect(existsSync(path.join(tmpdir(), `codex-import-${job.id}`))).toBe(false);
    expect(await count(tenant)).toBe(3_000);
  });

  it('when the service starts, then uploads abandoned by a killed process over a day ago are removed, newer ones kept', async () => {
    const old = path.join(tmpdir(), `codex-import-${randomUUID()}`);
    const recent = path.join(tmpdir(), `codex-import-${randomUUID()}`);
    writeFileSync(old, 'name\nx\n');
    writeFileSync(recent, 'name\nx\n');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    try {
      createApp(deps);
      for (let waited = 0; existsSync(old) && waited < 2_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(existsSync(old)).toBe(false);
      expect(existsSync(recent)).toBe(true);
    } finally {
      rmSync(old, { force: true });
      rmSync(recent, { force: true });
    }
  });

  it('when a running job stopped making progress long ago (its service was killed), then it reads as failed', async () => {
    const tenant = await newTenant();
    const job = (await importFile(tenant, 'csv', 'name\nA\n')).body;
    // As the server's superuser, with triggers off, so updated_at keeps the old time.
    const [{ db_name: dbName }] = (await deps.db.query(`SELECT db_name FROM tenants WHERE id = $1`, [tenant])).rows;
    const admin = new pg.Client({ connectionString: testServerUrl(dbName) });
    await admin.connect();
    try {
      await admin.query(`SET session_replication_role = replica`);
      await admin.query(`UPDATE import_jobs SET status = 'running', finished_at = NULL, updated_at = now() - interval '11 minutes' WHERE id = $1`, [job.id]);
    } finally {
      await admin.end();
    }
    const read = await request(app).get(`/api/v1/client/import/${job.id}`).set('Authorization', as(tenant));
    expect(read.body).toMatchObject({ status: 'failed', failure: 'interrupted: the import stopped before it finished' });
  });

  it('when the content type, size or role is wrong, then 415, 413 or 403 and nothing is written', async () => {
    const tenant = await newTenant();
    const wrongType = await request(app)
      .post('/api/v1/client/import?format=csv')
      .set('Authorization', as(tenant))
      .set('Content-Type', 'application/json')
      .send('{}');
    expect(wrongType.status).toBe(415);
    const big = await importFile(tenant, 'csv', `name\n${'x'.repeat(250_000)}\n`);
    expect(big.status).toBe(413);
    const member = await request(app)
      .post('/api/v1/client/import?format=csv')
      .set('Authorization', as(tenant, 'member'))
      .set('Content-Type', 'text/csv')
      .send('name\nA\n');
    expect(member.status).toBe(403);
    const noFormat = await request(app).post('/api/v1/client/import').set('Authorization', as(tenant)).set('Content-Type', 'text/csv').send('name\nA\n');
    expect(noFormat.status).toBe(400);
    expect(await count(tenant)).toBe(0);
  });

  it("when tenant B asks for tenant A's import job, then 404, and B's job list is empty while A's lists both newest first", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const job = (await importFile(a, 'csv', 'name\nOnly A\n')).body;
    expect((await request(app).get(`/api/v1/client/import/${job.id}`).set('Authorization', as(b))).status).toBe(404);
    const second = (await importFile(a, 'jsonl', '{"name":"Also A"}\n')).body;
    const listed = await request(app).get('/api/v1/client/import').set('Authorization', as(a));
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((j: { id: string }) => j.id)).toEqual([second.id, job.id]);
    expect(listed.body.items[0]).not.toHaveProperty('errors');
    expect((await request(app).get('/api/v1/client/import?entity=contacts').set('Authorization', as(a))).status).toBe(400);
    expect((await request(app).get('/api/v1/client/import').set('Authorization', as(b))).body.items).toEqual([]);
    expect((await request(app).get('/api/v1/client/import?limit=0').set('Authorization', as(a))).status).toBe(400);
  });
});
