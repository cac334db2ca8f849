import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { closedPortUrl, listenOnFreePort, type Listening } from '../../test/support/listen';
import { createTestDeps } from '../../test/support/service-deps';

/** Redis is for sharing limits between instances; losing it must degrade limits, never availability. */
describe('a gateway whose Redis is unreachable', () => {
  let db: TestDatabase;
  let deps: ServiceDeps<'gateway'>;
  let crm: Listening;
  let gateway: ReturnType<typeof createApp>;

  beforeAll(async () => {
    db = await createTestDatabase('master');
    crm = await listenOnFreePort((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}'));
    const redisUrl = (await closedPortUrl()).replace('http:', 'redis:');
    deps = createTestDeps('gateway', db.url, { REDIS_URL: redisUrl, RATE_LIMIT_PER_IP: '5', CRM_URL: crm.url });
    gateway = createApp(deps);
  });
  afterAll(async () => {
    await crm.close();
    await closeServiceDeps(deps);
    await db.drop();
  });

  it('when requests come, then each is answered within a second, limits still hold per instance, and /health says redis is degraded', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const started = Date.now();
      statuses.push((await request(gateway).get('/api/v1/crm/health')).status);
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const health = await request(gateway).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.degraded).toEqual(['redis']);
    expect((await request(gateway).get('/metrics')).text).toMatch(/redis_available\{service="gateway"\} 0/);
  });
});
