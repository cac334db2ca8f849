import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp as createGatewayApp } from '../gateway/src/app';
import { createApp as createCrmApp } from '../services/crm/src/app';
import { findNginx, startNginx, type RunningNginx } from '../scripts/lib/nginx';
import { createTestDatabase, type TestDatabase } from './support/database';
import { closedPortUrl, listenOnFreePort, type Listening } from './support/listen';
import { createTestDeps } from './support/service-deps';

// CI installs nginx and sets REQUIRE_NGINX=1, so there this suite cannot silently vanish.
const nginxAvailable = Boolean(findNginx());
if (!nginxAvailable && process.env.REQUIRE_NGINX === '1') throw new Error('REQUIRE_NGINX=1 but nginx is not installed');
const describeWithNginx = nginxAvailable ? describe : describe.skip;

describeWithNginx('nginx.conf in front of the gateway (real nginx)', () => {
  let db: TestDatabase;
  const deps: ServiceDeps[] = [];
  let crm: Listening;
  let gateway: Listening;
  let nginx: RunningNginx;

  beforeAll(async () => {
    db = await createTestDatabase('master');
    const crmDeps = createTestDeps('crm', db.url);
    crm = await listenOnFreePort(createCrmApp(crmDeps));
    // Public routes only (no key or token needed): the crm app stands in for auth, subscription is down.
    const gatewayDeps = createTestDeps('gateway', db.url, { CRM_URL: crm.url, AUTH_URL: crm.url, SUBSCRIPTION_URL: await closedPortUrl() });
    gateway = await listenOnFreePort(createGatewayApp(gatewayDeps));
    deps.push(crmDeps, gatewayDeps);
    const port = Number(new URL(await closedPortUrl()).port);
    nginx = await startNginx({ listenPort: port, gatewayAddress: new URL(gateway.url).host });
  });
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([gateway.close(), crm.close()]);
    for (const d of deps) await closeServiceDeps(d);
    await db.drop();
  });

  it('when a request comes through nginx, then it reaches the service behind the gateway', async () => {
    const res = await fetch(`${nginx.url}/api/v1/crm/health`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { service: string }).service).toBe('crm');
  });

  it('when the client sends no request id, then nginx makes one and every hop keeps it', async () => {
    const res = await fetch(`${nginx.url}/api/v1/crm/health`);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const kept = await fetch(`${nginx.url}/api/v1/crm/health`, { headers: { 'X-Request-Id': 'from-the-client' } });
    expect(kept.headers.get('x-request-id')).toBe('from-the-client');
  });

  it('when a body is just over the services limit, then the service (not nginx) answers 413 in the standard body', async () => {
    const res = await fetch(`${nginx.url}/api/v1/auth/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ blob: 'x'.repeat(1_100_000) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('when an upstream service is down, then the standard 503 body comes back through nginx', async () => {
    const res = await fetch(`${nginx.url}/api/v1/subscription/health`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});
