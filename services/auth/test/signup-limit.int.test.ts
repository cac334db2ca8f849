import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

/** Sign-ups per IP and tenant are limited exactly: N in a window pass, the (N+1)th is 429 (counted in Redis when it is configured). */
describe('the sign-up limit (through the gateway)', () => {
  let platform: TestPlatform;
  const redis: Record<string, string> = process.env.REDIS_URL
    ? { REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: `signup-${randomBytes(4).toString('hex')}` }
    : {};

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [], env: { auth: { LOGIN_IP_ATTEMPTS: '5', ...redis } } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when one IP signs up users of a tenant, then exactly LOGIN_IP_ATTEMPTS pass (the owner’s included) and the next is 429 with Retry-After', async () => {
    const tenant = await platform.newTenant();
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 6; i += 1) {
      last = await request(platform.gateway.url)
        .post('/api/v1/auth/register')
        .set('X-API-Key', tenant.key)
        .send({ email: `u${i}-${randomBytes(3).toString('hex')}@tenant.example`, password: 'correct horse battery' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
    expect(last!.headers['retry-after']).toMatch(/^\d+$/);
    // Another tenant's sign-ups from the same IP are counted on their own.
    const other = await platform.newTenant();
    expect(other.token).toEqual(expect.any(String));
  });
});
