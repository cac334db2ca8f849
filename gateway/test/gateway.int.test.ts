import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp as createCrmApp } from '../../services/crm/src/app';
import { createApp } from '../src/app';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { closedPortUrl, listenOnFreePort, type Listening } from '../../test/support/listen';
import { createTestDeps } from '../../test/support/service-deps';

describe('gateway', () => {
  let db: TestDatabase;
  let crmDeps: ServiceDeps<'crm'>;
  let gatewayDeps: ServiceDeps<'gateway'>;
  let crm: Listening;
  let hanging: Listening;
  /** Answers with the headers it was sent, standing in for the admin service. */
  let echo: Listening;
  let gateway: ReturnType<typeof createApp>;

  beforeAll(async () => {
    db = await createTestDatabase('master');
    crmDeps = createTestDeps('crm', db.url);
    crm = await listenOnFreePort(createCrmApp(crmDeps));
    hanging = await listenOnFreePort(() => undefined);
    echo = await listenOnFreePort((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(req.headers));
    });
    const down = await closedPortUrl();
    gatewayDeps = createTestDeps('gateway', db.url, {
      CRM_URL: crm.url,
      BILLING_URL: hanging.url,
      // Public routes (no key, no token) exercise the proxy itself; the crm app stands in for auth.
      AUTH_URL: crm.url,
      SUBSCRIPTION_URL: down,
      CLIENT_URL: down,
      ADMIN_URL: echo.url,
      UPSTREAM_TIMEOUT_MS: '300',
      CORS_ORIGINS: 'https://app.example',
    });
    gateway = createApp(gatewayDeps);
  });
  afterAll(async () => {
    await Promise.all([crm.close(), hanging.close(), echo.close()]);
    await closeServiceDeps(crmDeps);
    await closeServiceDeps(gatewayDeps);
    await db.drop();
  });

  it('when /api/v1/crm/... is requested, then the crm service answers through the gateway with the same request id', async () => {
    const res = await request(gateway).get('/api/v1/crm/health').set('X-Request-Id', 'through-the-gateway');
    expect(res.status).toBe(200);
    expect(res.body.service).toBe('crm');
    expect(res.headers['x-request-id']).toBe('through-the-gateway');
  });

  it('when a body is proxied, then the gateway streams it and the service judges it', async () => {
    const malformed = await request(gateway).post('/api/v1/auth/admin/login').set('Content-Type', 'application/json').send('{"a":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_JSON');
    const large = await request(gateway)
      .post('/api/v1/auth/admin/login')
      .send({ blob: 'x'.repeat(1_100_000) });
    expect(large.status).toBe(413);
  });

  it('when the service is down, then 503 UPSTREAM_UNAVAILABLE in the standard body', async () => {
    const res = await request(gateway).get('/api/v1/subscription/health').set('X-Request-Id', 'down-check');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'UPSTREAM_UNAVAILABLE', message: expect.any(String), requestId: 'down-check' } });
  });

  it('when the service does not answer in time, then 504 UPSTREAM_TIMEOUT', async () => {
    const res = await request(gateway).get('/api/v1/billing/health');
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('UPSTREAM_TIMEOUT');
  });

  it('when /health/services is polled, then each service is reported within a second', async () => {
    const started = Date.now();
    const res = await request(gateway).get('/health/services');
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('degraded');
    const byName = Object.fromEntries(res.body.services.map((s: { service: string }) => [s.service, s]));
    expect(byName.crm).toMatchObject({ status: 'up', httpStatus: 200, breaker: 'closed' });
    expect(byName.subscription).toMatchObject({ status: 'down', error: 'unreachable' });
    expect(byName.billing).toMatchObject({ status: 'down', error: 'no answer within 1000 ms' });
    expect(Object.keys(byName).sort()).toEqual(['admin', 'auth', 'billing', 'client', 'crm', 'subscription']);
  });

  it('when a path no service serves is asked, then 404 before any credential is looked at; a served path with another method is 405 with Allow', async () => {
    const res = await request(gateway).get('/not-the-api/x');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    for (const path of ['/api/v1/unknown-service/x', '/api/v1/client/no-such-route', '/api/v1/crm/contacts/']) {
      const unknown = await request(gateway).get(path).set('X-API-Key', 'cmk_whatever');
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('NOT_FOUND');
    }
    const wrongMethod = await request(gateway).delete('/api/v1/auth/login');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(wrongMethod.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('when /metrics or /health/services is asked from outside the operators’ networks, then 403; from loopback, then it answers', async () => {
    for (const path of ['/metrics', '/health/services']) {
      const outside = await request(gateway).get(path).set('X-Forwarded-For', '203.0.113.7');
      expect(outside.status).toBe(403);
      expect(outside.body.error.code).toBe('FORBIDDEN');
      expect((await request(gateway).get(path).set('X-Forwarded-For', '10.1.2.3')).status).not.toBe(403);
    }
    expect((await request(gateway).get('/metrics')).status).toBe(200);
  });

  it('when proxied requests are counted, then metrics label them by the route template they matched, never the raw path', async () => {
    await request(gateway).get('/api/v1/crm/health');
    await request(gateway).get('/api/v1/crm/deals/0b9a5d6e-1111-4a4a-9a9a-123456789abc');
    const metrics = await request(gateway).get('/metrics');
    expect(metrics.text).toMatch(/http_requests_total\{method="GET",route="\/api\/v1\/crm\/health",status="200"/);
    expect(metrics.text).toMatch(/route="\/api\/v1\/crm\/deals\/:id"/);
    expect(metrics.text).not.toMatch(/route="[^"]*0b9a5d6e/);
    expect(metrics.text).toMatch(/db_pool_connections\{state="open",service="gateway"\}/);
  });

  it('when a proxied request is answered, then it carries the same security headers as the gateway’s own answers, and CORS as configured', async () => {
    const own = await request(gateway).get('/health');
    const proxied = await request(gateway).get('/api/v1/crm/health').set('Origin', 'https://app.example');
    for (const name of ['content-security-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options', 'referrer-policy']) {
      expect(proxied.headers[name]).toBeDefined();
      expect(proxied.headers[name]).toBe(own.headers[name]);
    }
    expect(proxied.headers['x-powered-by']).toBeUndefined();
    expect(proxied.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(proxied.headers['access-control-expose-headers']).toContain('X-Request-Id');

    const preflight = await request(gateway)
      .options('/api/v1/crm/deals')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'x-api-key, authorization, content-type');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toBe('x-api-key, authorization, content-type');
  });

  it('when a trusted proxy (loopback, by default) says how the client came, then the service is told the same; credentials and identity headers stay here', async () => {
    const res = await request(gateway)
      .get('/api/v1/admin/health')
      .set('X-Forwarded-Proto', 'https')
      .set('X-Forwarded-For', '203.0.113.9')
      .set('X-Api-Key', 'cdx_not_for_the_service')
      .set('X-Tenant-Id', 'c0ffee00-0000-4000-8000-000000000000')
      .set('Cookie', 'session=secret');
    expect(res.status).toBe(200);
    const seen = res.body as Record<string, string>;
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(seen['x-forwarded-for']).toMatch(/^203\.0\.113\.9, (::ffff:)?127\.0\.0\.1$/);
    expect(seen['x-request-id']).toBe(res.headers['x-request-id']);
    expect(seen.authorization).toMatch(/^Bearer /);
    for (const name of ['x-api-key', 'x-tenant-id', 'cookie']) expect(seen[name]).toBeUndefined();
  });
});
