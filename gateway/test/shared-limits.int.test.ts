import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { closedPortUrl } from '../../test/support/listen';
import { createTestDeps } from '../../test/support/service-deps';

// CI runs Redis and sets REDIS_URL and REQUIRE_REDIS=1, so there this suite cannot silently vanish.
const redisUrl = process.env.REDIS_URL;
if (!redisUrl && process.env.REQUIRE_REDIS === '1') throw new Error('REQUIRE_REDIS=1 but REDIS_URL is not set');
const describeWithRedis = redisUrl ? describe : describe.skip;

describeWithRedis('rate limits shared through Redis (REDIS_URL)', () => {
  let db: TestDatabase;
  const deps: ServiceDeps<'gateway'>[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('master');
  });
  afterAll(async () => {
    for (const d of deps) await closeServiceDeps(d);
    await db.drop();
  });

  it('when two gateway instances share Redis, then a client over the limit on one is limited on the other', async () => {
    const env = { REDIS_URL: redisUrl!, REDIS_PREFIX: `test-${randomBytes(4).toString('hex')}`, RATE_LIMIT_PER_IP: '3', CRM_URL: await closedPortUrl() };
    const [first, second] = [createTestDeps('gateway', db.url, env), createTestDeps('gateway', db.url, env)];
    deps.push(first, second);
    const [a, b] = [createApp(first), createApp(second)];
    // Until its Redis connection is up an instance counts in process (by design); wait for both, so a slow
    // connect on a loaded machine does not read as unshared limits.
    for (let waited = 0; !(first.redis?.isReady && second.redis?.isReady) && waited < 5_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const statuses = [];
    for (const app of [a, a, b, b]) statuses.push((await request(app).get('/api/v1/crm/health')).status);
    expect(statuses).toEqual([503, 503, 503, 429]);
  });
});
