import request from 'supertest';
import type { ServiceDeps } from '@codex/shared';
import { purgeDeletedTenants, type LifecycleDeps } from '../src/domain/tenant-lifecycle';
import { serverQuery } from '../../../test/support/database';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';

const IN_FORCE_WITHIN_MS = 5_000;
/** 3.6 s: long enough to restore in, short enough to wait out. */
const GRACE_HOURS = '0.001';

/**
 * Soft delete, restore and purge (#14), through the gateway: a deleted tenant's keys stop working at once,
 * a restore brings it back as it was, and once the grace has run out the purge job drops its database and
 * role. Another tenant is untouched throughout.
 */
describe('tenant soft delete, restore and purge', () => {
  let platform: TestPlatform;
  let operator: string;
  let tenant: PlatformTenant;
  let bystander: PlatformTenant;
  let lifecycle: LifecycleDeps;

  const me = (of: PlatformTenant) => request(platform.gateway.url).get('/api/v1/auth/me').set('X-API-Key', of.key).set('Authorization', `Bearer ${of.token}`);
  const operatorCall = (method: 'get' | 'post' | 'delete', path: string) =>
    request(platform.gateway.url)[method](`/api/v1/admin/tenants/${path}`).set('Authorization', `Bearer ${operator}`);
  const databaseOf = async (id: string) =>
    (await platform.deps.admin!.db.query<{ db_name: string; db_role: string }>('SELECT db_name, db_role FROM tenants WHERE id = $1', [id])).rows[0]!;
  async function until(condition: () => Promise<boolean>) {
    const started = Date.now();
    while (!(await condition())) {
      if (Date.now() - started > IN_FORCE_WITHIN_MS) throw new Error(`not in force within ${IN_FORCE_WITHIN_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [], env: { admin: { TENANT_DELETE_GRACE_HOURS: GRACE_HOURS } } });
    operator = await platform.newOperatorToken();
    tenant = await platform.newTenant();
    bystander = await platform.newTenant();
    const admin = platform.deps.admin as ServiceDeps<'admin'>;
    lifecycle = {
      db: admin.db,
      tenants: admin.tenants,
      serverUrl: admin.config.databaseUrl,
      secrets: admin.secrets,
      defaultGraceMs: admin.config.lifecycle.deleteGraceMs,
      settings: admin.platformConfig,
      logger: admin.logger,
    };
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when a tenant is deleted, then its keys stop working at once, and asking again changes nothing', async () => {
    expect((await me(tenant)).status).toBe(200);
    const deleted = await operatorCall('delete', tenant.id);
    expect(deleted.status).toBe(202);
    expect(deleted.body).toMatchObject({ status: 'deleting', deletedAt: expect.any(String) });
    const grace = Date.parse(deleted.body.purgeAfter) - Date.parse(deleted.body.deletedAt);
    expect(grace).toBeGreaterThan(3_000);
    expect(grace).toBeLessThanOrEqual(3_700);
    await until(async () => (await me(tenant)).status === 401);
    const again = await operatorCall('delete', tenant.id);
    expect(again.status).toBe(202);
    expect(again.body.purgeAfter).toBe(deleted.body.purgeAfter);
    expect((await me(bystander)).status).toBe(200);
  });

  it('when it is restored within the grace, then it is back as it was, with its data', async () => {
    const restored = await operatorCall('post', `${tenant.id}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ status: 'active', deletedAt: null, purgeAfter: null });
    await until(async () => (await me(tenant)).status === 200);
    expect((await me(tenant)).body.id).toBe(tenant.ownerId);
    const twice = await operatorCall('post', `${tenant.id}/restore`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('TENANT_NOT_DELETING');
  });

  it('when a suspended tenant is deleted and restored, then it comes back suspended', async () => {
    expect((await operatorCall('post', `${tenant.id}/suspend`)).status).toBe(200);
    expect((await operatorCall('delete', tenant.id)).status).toBe(202);
    expect((await operatorCall('post', `${tenant.id}/restore`)).body).toMatchObject({ status: 'suspended', suspendedFor: 'admin' });
    await until(async () => (await me(tenant)).status === 403);
    expect((await operatorCall('post', `${tenant.id}/resume`)).status).toBe(200);
    await until(async () => (await me(tenant)).status === 200);
  });

  it('when the grace has run out, then the purge drops its database and role, and it is gone for good', async () => {
    const { db_name: database, db_role: role } = await databaseOf(tenant.id);
    expect((await operatorCall('delete', tenant.id)).status).toBe(202);
    // Not yet: the grace is still running.
    expect(await purgeDeletedTenants(lifecycle)).toEqual({ purged: 0 });
    await new Promise((resolve) => setTimeout(resolve, 3_800));
    expect(await purgeDeletedTenants(lifecycle)).toEqual({ purged: 1 });
    expect(await purgeDeletedTenants(lifecycle)).toEqual({ purged: 0 });

    expect(await serverQuery('SELECT 1 FROM pg_database WHERE datname = $1', [database])).toEqual([]);
    expect(await serverQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).toEqual([]);
    expect((await operatorCall('get', tenant.id)).body).toMatchObject({ status: 'deleted' });
    expect((await operatorCall('post', `${tenant.id}/restore`)).status).toBe(404);
    expect((await operatorCall('delete', tenant.id)).status).toBe(404);
    expect((await me(tenant)).status).toBe(401);
    const { rows } = await platform.deps.admin!.db.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND action LIKE 'tenant.%' ORDER BY seq`, [
      tenant.id,
    ]);
    expect(rows.map((row) => row.action)).toEqual([
      'tenant.created',
      'tenant.deleted',
      'tenant.restored',
      'tenant.suspended',
      'tenant.deleted',
      'tenant.restored',
      'tenant.reactivated',
      'tenant.deleted',
      'tenant.purged',
    ]);

    // The other tenant, its database and its key are untouched.
    expect((await me(bystander)).status).toBe(200);
    expect(await serverQuery('SELECT 1 FROM pg_database WHERE datname = $1', [(await databaseOf(bystander.id)).db_name])).toHaveLength(1);
  });

  it('when the tenant is unknown or the caller not an operator, then 404, 400 or 403', async () => {
    expect((await operatorCall('delete', '7d0f2b1e-1111-4a4a-9a9a-123456789abc')).status).toBe(404);
    expect((await operatorCall('post', '7d0f2b1e-1111-4a4a-9a9a-123456789abc/restore')).status).toBe(404);
    expect((await operatorCall('delete', 'nope')).status).toBe(400);
    const asTenant = await request(platform.gateway.url)
      .delete(`/api/v1/admin/tenants/${bystander.id}`)
      .set('X-API-Key', bystander.key)
      .set('Authorization', `Bearer ${bystander.token}`);
    expect(asTenant.status).toBe(403);
    expect((await me(bystander)).status).toBe(200);
  });
});
