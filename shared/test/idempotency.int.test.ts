import type express from 'express';
import request from 'supertest';
import { setTimeout as delay } from 'node:timers/promises';
import { closeServiceDeps, createServiceApp, idempotent, requireServiceToken, type ServiceDeps } from '../src';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { createTestDeps } from '../../test/support/service-deps';
import { serviceAuth } from '../../test/support/service-auth';

describe('Idempotency-Key', () => {
  let db: TestDatabase;
  let deps: ServiceDeps;
  let app: express.Express;
  let created = 0;

  const as = (tenantId: string, userId = 'u-1') => serviceAuth(deps, 'crm', { tenantId, userId, roles: [] });
  const post = (key: string, body: object, tenant = 't-1', user = 'u-1') =>
    request(app).post('/things').set('Authorization', as(tenant, user)).set('Idempotency-Key', key).send(body);

  beforeAll(async () => {
    db = await createTestDatabase('master');
    deps = createTestDeps('crm', db.url);
    app = createServiceApp({
      service: 'crm',
      config: deps.config,
      logger: deps.logger,
      healthChecks: {},
      routes: (a) => {
        a.post('/things', requireServiceToken('crm', deps.config.serviceJwtSecret), idempotent(deps), async (req, res) => {
          if (req.body.slow) await delay(300);
          if (req.body.fail) throw new Error('boom');
          created += 1;
          res.status(201).json({ id: created, secret: `value-${created}` });
        });
      },
    });
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await db.drop();
  });

  it('when the same key and body come twice, then the first answer is replayed and the work is done once', async () => {
    const before = created;
    const first = await post('key-aaaa-0001', { name: 'a' });
    const second = await post('key-aaaa-0001', { name: 'a' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(created).toBe(before + 1);
  });

  it('when another user of the same tenant sends the same key, then their request runs: keys are the caller’s own', async () => {
    const first = await post('key-user-0001', { name: 'a' }, 't-1', 'u-1');
    const other = await post('key-user-0001', { name: 'a' }, 't-1', 'u-2');
    expect(other.status).toBe(201);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('when the same key comes with another body, then 422', async () => {
    await post('key-bbbb-0001', { name: 'a' });
    const res = await post('key-bbbb-0001', { name: 'b' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('when the same key arrives while the first is running, then 409', async () => {
    const [a, b] = await Promise.all([post('key-cccc-0001', { slow: true }), delay(50).then(() => post('key-cccc-0001', { slow: true }))]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
  });

  it('when another tenant uses the same key, then it is a different request', async () => {
    const mine = await post('key-dddd-0001', { name: 'a' }, 'tenant-one');
    const theirs = await post('key-dddd-0001', { name: 'a' }, 'tenant-two');
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });

  it('when the first attempt fails with a 5xx, then a retry runs again', async () => {
    expect((await post('key-eeee-0001', { fail: true })).status).toBe(500);
    expect((await post('key-eeee-0001', { fail: true })).status).toBe(500);
    const rows = await deps.db.query(`SELECT 1 FROM idempotency_keys WHERE key = 'key-eeee-0001'`);
    expect(rows.rowCount).toBe(0);
  });

  it('when the stored answer is a secret, then it is kept encrypted', async () => {
    const res = await post('key-ffff-0001', { name: 'secret' });
    const { rows } = await deps.db.query(`SELECT response_body FROM idempotency_keys WHERE key = 'key-ffff-0001'`);
    expect(rows[0].response_body).toMatch(/^v1:/);
    expect(rows[0].response_body).not.toContain(res.body.secret);
  });

  it('when the key is malformed, then 400', async () => {
    expect((await post('short', { name: 'a' })).status).toBe(400);
  });
});
