import request from 'supertest';
import { closedPortUrl } from '../../../test/support/listen';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';

interface Traffic {
  lastMinuteRequests: number;
  items: Array<{ minute: string; requests: number; clientErrors: number; serverErrors: number }>;
  current: { minute: string; requests: number; clientErrors: number; serverErrors: number };
  services: Array<{ service: string; requests: number; clientErrors: number; serverErrors: number; serverErrorPercent: number }>;
}

/** The dashboard's requests per minute and error rates: counted by the gateway, added up in the master database, read through the admin API. */
describe('GET /api/v1/admin/traffic', () => {
  let platform: TestPlatform;
  let operator: string;
  let tenant: PlatformTenant;

  beforeAll(async () => {
    // Subscription is not running: requests for it are the gateway's 503s.
    platform = await startTestPlatform({ env: { gateway: { SUBSCRIPTION_URL: await closedPortUrl() } } });
    operator = await platform.newOperatorToken();
    tenant = await platform.newTenant();
  });
  afterAll(async () => {
    await platform.close();
  });

  const traffic = (minutes = 5) => request(platform.gateway.url).get(`/api/v1/admin/traffic?minutes=${minutes}`).set('Authorization', `Bearer ${operator}`);

  it('when requests pass the gateway, then every one is counted within a flush, by service and by answer class', async () => {
    for (let i = 0; i < 3; i++) expect((await platform.as(tenant).get('/api/v1/crm/deals')).status).toBe(200);
    expect((await request(platform.gateway.url).get('/api/v1/crm/deals')).status).toBe(401);
    expect((await platform.as(tenant).get('/api/v1/subscription/entitlements')).status).toBe(503);

    // Each gateway adds its counts every 5 s; the minute may turn meanwhile, so whole and current minutes are summed.
    const deadline = Date.now() + 15_000;
    let seen = { requests: 0, clientErrors: 0, serverErrors: 0 };
    while (Date.now() < deadline) {
      const answer = await traffic();
      expect(answer.status).toBe(200);
      const body = answer.body as Traffic;
      const minutes = [...body.items, body.current];
      seen = {
        requests: minutes.reduce((sum, m) => sum + m.requests, 0),
        clientErrors: minutes.reduce((sum, m) => sum + m.clientErrors, 0),
        serverErrors: minutes.reduce((sum, m) => sum + m.serverErrors, 0),
      };
      // The traffic reads themselves (through the gateway, to the admin service) are counted too.
      if (seen.requests >= 5 && seen.serverErrors >= 1 && seen.clientErrors >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(seen.requests).toBeGreaterThanOrEqual(5);
    expect(seen.clientErrors).toBeGreaterThanOrEqual(1);
    expect(seen.serverErrors).toBe(1);
  }, 30_000);

  it('when read over a range, then every minute is there (zeros included), oldest first, and per-service totals cover the whole minutes', async () => {
    const body = (await traffic(10)).body as Traffic;
    expect(body.items).toHaveLength(10);
    const starts = body.items.map((m) => Date.parse(m.minute));
    expect(starts.every((start, index) => index === 0 || start - starts[index - 1]! === 60_000)).toBe(true);
    expect(Date.parse(body.current.minute) - starts.at(-1)!).toBe(60_000);
    expect(body.lastMinuteRequests).toBe(body.items.at(-1)!.requests);
    for (const service of body.services) expect(service.serverErrorPercent).toBeCloseTo(service.requests ? (service.serverErrors / service.requests) * 100 : 0);
  });

  it('when the range is out of bounds or the caller is not a platform admin, then 400 or 403', async () => {
    expect((await traffic(0)).status).toBe(400);
    expect((await traffic(1_441)).status).toBe(400);
    expect((await request(platform.gateway.url).get('/api/v1/admin/traffic?minutes=abc').set('Authorization', `Bearer ${operator}`)).status).toBe(400);
    expect((await request(platform.gateway.url).get('/api/v1/admin/traffic?since=1').set('Authorization', `Bearer ${operator}`)).status).toBe(400);
    // A tenant's owner is no platform admin.
    expect((await platform.as(tenant).get('/api/v1/admin/traffic')).status).toBe(403);
  });
});
