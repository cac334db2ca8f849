import type { Express } from 'express';
import request from 'supertest';
import { closeServiceDeps, type ServiceDeps, type ServiceName } from '@codex/shared';
import { createTestDatabase, type TestDatabase } from './support/database';
import { createTestDeps } from './support/service-deps';
import { appOf } from './support/apps';

const SERVICES: ServiceName[] = ['gateway', 'auth', 'billing', 'subscription', 'crm', 'client', 'admin'];

describe.each(SERVICES)('the %s service', (service) => {
  const createApp = appOf(service);
  let db: TestDatabase;
  let deps: ServiceDeps;
  let app: Express;

  beforeAll(async () => {
    db = await createTestDatabase('master');
    deps = createTestDeps(service, db.url);
    app = createApp(deps);
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await db.drop();
  });

  it('when /health is called, then 200 with the database check passing', async () => {
    const res = await request(app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', service, version: expect.any(String), checks: { database: { status: 'ok' } } });
    expect(typeof res.body.uptimeSeconds).toBe('number');
  });

  it('when the database is gone, then /health answers 503 within a second', async () => {
    const broken = createTestDeps(service, db.url.replace(/\/[^/]+$/, '/no_such_database_here'));
    try {
      const started = Date.now();
      const res = await request(createApp(broken)).get('/health');
      expect(res.status).toBe(503);
      expect(res.body.checks.database.status).toBe('fail');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await closeServiceDeps(broken);
    }
  });

  it('when /openapi.json, /docs and /metrics are requested, then each answers', async () => {
    expect((await request(app).get('/openapi.json')).body.openapi).toBe('3.0.3');
    expect((await request(app).get('/docs/')).status).toBe(200);
    expect((await request(app).get('/metrics')).text).toContain('http_requests_total');
  });

  it('when a route does not exist, then 404 in the standard body', async () => {
    const res = await request(app).get('/definitely/not/here');
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({ code: 'NOT_FOUND', message: expect.any(String), requestId: res.headers['x-request-id'] });
  });

  it('when malformed JSON is posted, then 400 INVALID_JSON and no row is written', async () => {
    const res = await request(app).post('/definitely/not/here').set('Content-Type', 'application/json').send('{"a":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_JSON');
    const rows = await deps.db.query('SELECT (SELECT count(*) FROM tenants) + (SELECT count(*) FROM admins) + (SELECT count(*) FROM audit_log) AS n');
    expect(Number(rows.rows[0].n)).toBe(0);
  });

  it('when a body is posted with the wrong content type, then 415', async () => {
    const res = await request(app).post('/definitely/not/here').set('Content-Type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
  });

  it('when a body over 1 MB is posted, then 413', async () => {
    const res = await request(app)
      .post('/definitely/not/here')
      .send({ blob: 'x'.repeat(1_100_000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
