import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { appOf } from '../../../test/support/apps';
import { listenOnFreePort, type Listening } from '../../../test/support/listen';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';
import { createTestDeps } from '../../../test/support/service-deps';

const IN_FORCE_WITHIN_MS = 5_000;

/**
 * Suspension, resumption and key revocation are in force on every gateway instance within 5 s (#14), not
 * after the key cache's TTL (30 s here): two gateways on one master database, both with the tenant's key
 * cached, and the change made through one of them.
 */
describe('suspend, resume and revoke on every gateway within seconds', () => {
  let platform: TestPlatform;
  let secondDeps: ServiceDeps<'gateway'>;
  let second: Listening;
  let operator: string;
  let tenant: PlatformTenant;

  const gateways = () => [platform.gateway.url, second.url];
  const me = (gateway: string, key = tenant.key) =>
    request(gateway).get('/api/v1/auth/me').set('X-API-Key', key).set('Authorization', `Bearer ${tenant.token}`);
  const asOperator = (method: 'post' | 'delete', path: string) => request(platform.gateway.url)[method](path).set('Authorization', `Bearer ${operator}`);

  /** How long from `started` until every gateway answers `status` for the key; fails past the limit. */
  async function inForceEverywhere(status: number, key = tenant.key, started = Date.now()): Promise<number> {
    for (const gateway of gateways()) {
      for (;;) {
        const res = await me(gateway, key);
        if (res.status === status) break;
        if (Date.now() - started > IN_FORCE_WITHIN_MS) throw new Error(`${gateway} still answers ${res.status} after ${IN_FORCE_WITHIN_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return Date.now() - started;
  }

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [], env: { gateway: { API_KEY_CACHE_MS: '30000' } } });
    secondDeps = createTestDeps('gateway', platform.bed.db.url, {
      AUTH_URL: platform.services.auth!.url,
      ADMIN_URL: platform.services.admin!.url,
      API_KEY_CACHE_MS: '30000',
    });
    second = await listenOnFreePort(appOf('gateway')(secondDeps));
    operator = await platform.newOperatorToken();
    tenant = await platform.newTenant();
  });
  afterAll(async () => {
    await second.close();
    await closeServiceDeps(secondDeps);
    await platform.close();
  });

  it('when a tenant is suspended through one gateway, then both refuse its key within 5 s, and its pooled connections close', async () => {
    for (const gateway of gateways()) expect((await me(gateway)).status).toBe(200); // cached on both, for 30 s
    const auth = platform.deps.auth!;
    const poolsBefore = auth.tenants.stats().pools;
    expect(poolsBefore).toBeGreaterThan(0);

    const suspendedAt = Date.now();
    const suspended = await asOperator('post', `/api/v1/admin/tenants/${tenant.id}/suspend`);
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ status: 'suspended', suspendedFor: 'admin' });
    // Checked before any request is sent: one still let through by a gateway that has not read the change
    // yet would open a new pool (it idles out), which is not what this looks at.
    const deadline = Date.now() + IN_FORCE_WITHIN_MS;
    while (auth.tenants.stats().pools >= poolsBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(auth.tenants.stats().pools).toBe(poolsBefore - 1);
    const took = await inForceEverywhere(403, tenant.key, suspendedAt);
    expect(took).toBeLessThan(IN_FORCE_WITHIN_MS);
    expect((await me(second.url)).body.error.code).toBe('TENANT_SUSPENDED');
  });

  it('when it is suspended again, then 200 with the same tenant and no second audit entry', async () => {
    const again = await asOperator('post', `/api/v1/admin/tenants/${tenant.id}/suspend`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'suspended' });
    const { rows } = await platform.deps.admin!.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND action = 'tenant.suspended'`, [
      tenant.id,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('when it is resumed, then both gateways serve its key again within 5 s, and resuming twice is 200 too', async () => {
    const resumed = await asOperator('post', `/api/v1/admin/tenants/${tenant.id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ status: 'active', suspendedFor: null });
    expect(await inForceEverywhere(200)).toBeLessThan(IN_FORCE_WITHIN_MS);
    expect((await asOperator('post', `/api/v1/admin/tenants/${tenant.id}/resume`)).status).toBe(200);
  });

  it('when a key is revoked, then both gateways refuse it within 5 s and the tenant\u2019s other key still works', async () => {
    const issued = await asOperator('post', `/api/v1/admin/tenants/${tenant.id}/api-keys`).send({ name: 'to revoke' });
    for (const gateway of gateways()) expect((await me(gateway, issued.body.key)).status).toBe(200);
    expect((await asOperator('delete', `/api/v1/admin/tenants/${tenant.id}/api-keys/${issued.body.id}`)).status).toBe(204);
    expect(await inForceEverywhere(401, issued.body.key)).toBeLessThan(IN_FORCE_WITHIN_MS);
    for (const gateway of gateways()) expect((await me(gateway)).status).toBe(200);
  });

  it('when the tenant is unknown, the id malformed or the caller a tenant user, then 404, 400 or 403', async () => {
    expect((await asOperator('post', '/api/v1/admin/tenants/7d0f2b1e-1111-4a4a-9a9a-123456789abc/suspend')).status).toBe(404);
    expect((await asOperator('post', '/api/v1/admin/tenants/nope/suspend')).status).toBe(400);
    const user = await request(platform.gateway.url)
      .post(`/api/v1/admin/tenants/${tenant.id}/suspend`)
      .set('X-API-Key', tenant.key)
      .set('Authorization', `Bearer ${tenant.token}`);
    expect(user.status).toBe(403);
    expect((await me(platform.gateway.url)).status).toBe(200);
  });
});
