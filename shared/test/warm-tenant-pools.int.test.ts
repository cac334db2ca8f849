import { closeServiceDeps, warmTenantPools, type ServiceDeps } from '../src';
import { provisionTestTenant } from '../../test/support/provisioning';
import { createTestDeps } from '../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../test/support/tenant-test-bed';

describe('warming tenant pools after a start', () => {
  let bed: TenantTestBed;
  let admin: ServiceDeps;
  let tenantIds: string[];

  beforeAll(async () => {
    bed = await createTenantTestBed();
    admin = createTestDeps('admin', bed.db.url, { TENANT_TEMPLATE_DATABASE: bed.template });
    tenantIds = [];
    for (let i = 0; i < 4; i += 1) tenantIds.push((await provisionTestTenant(admin, bed.template)).tenant.id);
    // Keys last used: the fourth tenant most recently, then the second, then the first; the third never.
    const usedSecondsAgo: Array<[number, number]> = [
      [3, 10],
      [1, 20],
      [0, 30],
    ];
    for (const [index, secondsAgo] of usedSecondsAgo) {
      await admin.db.query(`UPDATE api_keys SET last_used_at = now() - make_interval(secs => $2) WHERE tenant_id = $1`, [tenantIds[index], secondsAgo]);
    }
  });
  afterAll(async () => {
    await closeServiceDeps(admin);
    await bed.drop();
  });

  it('when a service starts, then the most recently active tenants get a connection, as far as asked and as the caps allow', async () => {
    const auth = createTestDeps('auth', bed.db.url, {});
    try {
      expect(await warmTenantPools(auth, 2)).toBe(2);
      expect(auth.tenants.stats()).toMatchObject({ pools: 2, connections: 2, leased: 0 });
      // The warm pools are the two most recent tenants': using them opens nothing new.
      for (const id of [tenantIds[3]!, tenantIds[1]!]) await auth.tenants.withConnection(id, (db) => db.query('SELECT 1'));
      expect(auth.tenants.stats()).toMatchObject({ pools: 2, connections: 2 });
    } finally {
      await closeServiceDeps(auth);
    }
    const capped = createTestDeps('auth', bed.db.url, { TENANT_POOL_MAX_POOLS: '1' });
    try {
      expect(await warmTenantPools(capped, 10)).toBe(1);
      expect(capped.tenants.stats()).toMatchObject({ pools: 1, connections: 1 });
    } finally {
      await closeServiceDeps(capped);
    }
  });

  it('when a tenant is suspended, then it is not warmed', async () => {
    await admin.db.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [tenantIds[3]]);
    const auth = createTestDeps('auth', bed.db.url, {});
    try {
      expect(await warmTenantPools(auth, 10)).toBe(2);
    } finally {
      await closeServiceDeps(auth);
      await admin.db.query(`UPDATE tenants SET status = 'active' WHERE id = $1`, [tenantIds[3]]);
    }
  });
});
