import pg from 'pg';
import request from 'supertest';
import { withDatabase } from '@codex/shared';
import { closedPortUrl } from '../../../test/support/listen';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';
import { startSecondPostgres, type SecondPostgres } from '../../../test/support/second-postgres';
import { recoverInterruptedWork } from '../src/domain/interrupted-work';
import { provisionTenant, provisioningDepsOf } from '../src/domain/provisioning';

/**
 * Tenants on several PostgreSQL servers (#14), with a second cluster started here: registering a
 * server, new tenants placed on the least loaded one, and a tenant moved to another server while it is
 * written to through the gateway: every acknowledged write is on the new server, the pause is answered
 * 503 with Retry-After, and a server that does not answer leaves the tenant where it is.
 */
describe('tenant placement and moves across database servers', () => {
  let platform: TestPlatform;
  let second: SecondPostgres;
  let operator: string;

  const admin = () => ({
    get: (p: string) => request(platform.gateway.url).get(p).set('Authorization', `Bearer ${operator}`),
    post: (p: string) => request(platform.gateway.url).post(p).set('Authorization', `Bearer ${operator}`),
  });
  const placementOf = async (tenantId: string) =>
    (await platform.deps.admin!.db.query<{ db_server: string; db_name: string }>('SELECT db_server, db_name FROM tenants WHERE id = $1', [tenantId])).rows[0]!;
  async function databasesOn(url: string, name: string): Promise<number> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0;
    } finally {
      await client.end();
    }
  }
  async function countOn(url: string, database: string, sql: string, values: unknown[] = []): Promise<number> {
    const client = new pg.Client({ connectionString: withDatabase(url, database) });
    await client.connect();
    try {
      return Number((await client.query(sql, values)).rows[0].count);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    [platform, second] = await Promise.all([startTestPlatform({ services: ['crm', 'client'] }), startSecondPostgres()]);
    operator = await platform.newOperatorToken();
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    await second?.stop();
  });

  it('when a server is registered, then it is listed without its credentials, and one that cannot host tenants is refused naming the url', async () => {
    const refused = await admin()
      .post('/api/v1/admin/database-servers')
      .send({ name: 'nowhere', url: `${(await closedPortUrl()).replace('http', 'postgres')}/postgres`, capacity: 10 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0]).toMatchObject({ path: 'body.url', message: expect.stringMatching(/^cannot connect/) });

    const registered = await admin().post('/api/v1/admin/database-servers').send({ name: 'second', url: second.url, capacity: 5 });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({
      name: 'second',
      host: '127.0.0.1',
      port: Number(new URL(second.url).port),
      capacity: 5,
      status: 'active',
      tenants: 0,
    });
    expect(JSON.stringify(registered.body)).not.toContain(decodeURIComponent(new URL(second.url).password));
    expect((await admin().post('/api/v1/admin/database-servers').send({ name: 'second', url: second.url, capacity: 5 })).status).toBe(409);
    const listed = await admin().get('/api/v1/admin/database-servers');
    expect(listed.body.items.map((server: { name: string }) => server.name)).toEqual(['default', 'second']);
    const stored = await platform.deps.admin!.db.query('SELECT url_sealed FROM database_servers');
    expect(stored.rows[0].url_sealed).not.toContain(new URL(second.url).password);
  });

  it('when a tenant is created, then it goes to the least loaded active server and serves from there', async () => {
    // Both empty: the default server wins the tie; then it holds 1 of 1,000 and the second 0 of 5.
    expect((await placementOf((await platform.newTenant()).id)).db_server).toBe('default');
    const created = await admin()
      .post('/api/v1/admin/tenants')
      .send({ name: 'Placed', slug: `placed-${Date.now().toString(36)}` });
    expect(created.status).toBe(201);
    expect(created.body.tenant.dbServer).toBe('second');
    expect(await databasesOn(second.url, created.body.tenant.dbName)).toBe(1);
    const signUp = await request(platform.gateway.url)
      .post('/api/v1/auth/register')
      .set('X-API-Key', created.body.apiKey.key)
      .send({ email: 'owner@placed.example', password: 'correct horse battery' });
    expect(signUp.status).toBe(201);
    expect(await countOn(second.url, created.body.tenant.dbName, 'SELECT count(*) FROM users')).toBe(1);

    // Draining: it keeps its tenants and takes no new ones.
    expect(
      (
        await request(platform.gateway.url)
          .patch('/api/v1/admin/database-servers/second')
          .set('Authorization', `Bearer ${operator}`)
          .send({ status: 'draining' })
      ).status,
    ).toBe(200);
    const next = await admin()
      .post('/api/v1/admin/tenants')
      .send({ name: 'Not there', slug: `elsewhere-${Date.now().toString(36)}` });
    expect(next.body.tenant.dbServer).toBe('default');
    await request(platform.gateway.url).patch('/api/v1/admin/database-servers/second').set('Authorization', `Bearer ${operator}`).send({ status: 'active' });
  });

  it('when a tenant is moved while it is written to, then every acknowledged write is on the new server, the pause answers 503 with Retry-After, and the old copy is gone', async () => {
    const tenant: PlatformTenant = await platform.newTenant();
    const before = await placementOf(tenant.id);
    expect(before.db_server).toBe('default');
    for (let i = 0; i < 50; i++)
      expect(
        (
          await platform
            .as(tenant)
            .post('/api/v1/client/clients')
            .send({ name: `Before ${i}` })
        ).status,
      ).toBe(201);

    const acknowledged: string[] = [];
    const refusals: { status: number; retryAfter?: string; code?: string }[] = [];
    let writing = true;
    const writer = async (lane: number) => {
      for (let i = 0; writing; i++) {
        const res = await platform
          .as(tenant)
          .post('/api/v1/client/clients')
          .send({ name: `During ${lane}-${i}` });
        if (res.status === 201) acknowledged.push(res.body.id);
        else {
          refusals.push({ status: res.status, retryAfter: res.headers['retry-after'], code: res.body.error?.code });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const writers = [writer(1), writer(2), writer(3)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const moved = await admin().post(`/api/v1/admin/tenants/${tenant.id}/move`).send({ server: 'second' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ from: 'default', to: 'second', tenant: { dbServer: 'second' } });
    process.stdout.write(`tenant move: ${moved.body.rows} rows, write pause ${moved.body.writePauseMs} ms\n`);
    expect(moved.body.writePauseMs).toBeLessThan(5_000);
    // Writes go on against the new server once every service has heard (a poll, about a second).
    const afterMove = acknowledged.length;
    const started = Date.now();
    while (acknowledged.length < afterMove + 30) {
      expect(Date.now() - started).toBeLessThan(15_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    writing = false;
    await Promise.all(writers);

    for (const refusal of refusals) expect(refusal).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
    expect(await countOn(second.url, before.db_name, 'SELECT count(*) FROM clients WHERE id = ANY($1::uuid[])', [acknowledged])).toBe(acknowledged.length);
    expect(await countOn(second.url, before.db_name, 'SELECT count(*) FROM clients')).toBe(50 + acknowledged.length);
    expect(await databasesOn(platform.bed.db.url, before.db_name)).toBe(0);
    const listed = await platform.as(tenant).get('/api/v1/client/clients?limit=1');
    expect(listed.status).toBe(200);
    const { rows } = await platform.deps.admin!.db.query(`SELECT details FROM audit_log WHERE action = 'tenant.moved' AND target_id = $1`, [tenant.id]);
    expect(rows[0].details).toMatchObject({ before: { dbServer: 'default' }, after: { dbServer: 'second' } });

    // And back: the same operation the other way.
    const back = await admin().post(`/api/v1/admin/tenants/${tenant.id}/move`).send({ server: 'default' });
    expect(back.status).toBe(200);
    expect(await databasesOn(second.url, before.db_name)).toBe(0);
  }, 60_000);

  it('when the target server does not answer, then 503 and the tenant stays where it was, serving; unknown or same server are refused', async () => {
    const tenant = await platform.newTenant();
    const secrets = platform.deps.admin!.secrets;
    await platform.deps.admin!.db.query(`INSERT INTO database_servers (name, url_sealed, capacity) VALUES ('gone', $1, 1)`, [
      secrets.seal(`${(await closedPortUrl()).replace('http', 'postgres')}/postgres`),
    ]);
    const refused = await admin().post(`/api/v1/admin/tenants/${tenant.id}/move`).send({ server: 'gone' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect((await placementOf(tenant.id)).db_server).toBe('default');
    expect((await platform.as(tenant).get('/api/v1/client/clients')).status).toBe(200);
    await platform.deps.admin!.db.query(`DELETE FROM database_servers WHERE name = 'gone'`);

    expect((await admin().post(`/api/v1/admin/tenants/${tenant.id}/move`).send({ server: 'nowhere' })).body.error.code).toBe('DATABASE_SERVER_NOT_FOUND');
    expect((await admin().post(`/api/v1/admin/tenants/${tenant.id}/move`).send({ server: 'default' })).body.error.code).toBe('TENANT_ALREADY_THERE');
  });

  it('when an admin process died in a move or an import, then recovery opens the tenant again, drops a left-over copy, and fails the import removing its tenant', async () => {
    const admin = platform.deps.admin! as Parameters<typeof provisioningDepsOf>[0];
    const provisioning = { ...provisioningDepsOf(admin), templateDatabase: platform.bed.template };
    const onServer = async (url: string, sql: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(sql).finally(() => client.end());
    };
    // A move that died in its pause: the tenant's database closed where it still lives.
    const paused = await platform.newTenant();
    const pausedDb = (await placementOf(paused.id)).db_name;
    await onServer(platform.bed.db.url, `ALTER DATABASE ${pausedDb} ALLOW_CONNECTIONS false`);
    await platform.deps.client!.tenants.invalidate(paused.id);
    expect((await platform.as(paused).get('/api/v1/client/clients')).status).toBe(503);
    // A move that died after its switch: the old copy, closed, on the server the tenant left.
    const switched = await platform.newTenant();
    const switchedDb = (await placementOf(switched.id)).db_name;
    await onServer(second.url, `CREATE DATABASE ${switchedDb} ALLOW_CONNECTIONS false`);
    // An import that died while loading: a tenant never activated and a job still running.
    let halfMade = '';
    await provisionTenant(provisioning, { slug: `half-${Date.now().toString(36)}`, name: 'Half made' }, (step, tenant) => {
      halfMade = tenant.id;
      if (step === 'migrated') throw new Error('the process died here');
    }).catch(() => undefined);
    const halfMadeDb = (await placementOf(halfMade)).db_name;
    await platform.deps.admin!.db.query(
      `INSERT INTO tenant_imports (id, status, slug, name, tenant_id, rows_total, created_at) VALUES (gen_random_uuid(), 'running', 'half', 'Half', $1, 10, now() - interval '2 minutes')`,
      [halfMade],
    );

    expect(await recoverInterruptedWork(provisioning)).toEqual({ reopened: 1, dropped: 1, importsFailed: 1 });
    expect((await platform.as(paused).get('/api/v1/client/clients')).status).toBe(200);
    expect(await databasesOn(second.url, switchedDb)).toBe(0);
    expect(await databasesOn(platform.bed.db.url, halfMadeDb)).toBe(0);
    expect((await platform.deps.admin!.db.query('SELECT 1 FROM tenants WHERE id = $1', [halfMade])).rowCount).toBe(0);
    const job = await platform.deps.admin!.db.query(`SELECT status, failure FROM tenant_imports WHERE tenant_id = $1`, [halfMade]);
    expect(job.rows[0]).toMatchObject({ status: 'failed', failure: expect.stringMatching(/stopped during the import/) });
    // Nothing more to do the second time.
    expect(await recoverInterruptedWork(provisioning)).toEqual({ reopened: 0, dropped: 0, importsFailed: 0 });
  });
});
