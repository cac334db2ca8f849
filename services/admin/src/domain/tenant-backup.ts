import { databaseName, type Queryable, type SecretBox } from '@codex/shared';
import { tenantsWithDatabases } from '../db/tenants-repo';
import { ensureTenantRole, lockDownSharedDatabases, lockDownTenantDatabase, withServerAdmin } from '../db/tenant-databases';

export interface TenantDatabase {
  id: string;
  slug: string;
  database: string;
  role: string;
}

/** Every tenant that has its own database (what a backup must hold), oldest first. */
export async function tenantDatabases(db: Queryable): Promise<TenantDatabase[]> {
  return (await tenantsWithDatabases(db)).map((tenant) => ({ id: tenant.id, slug: tenant.slug, database: tenant.dbName!, role: tenant.dbRole! }));
}

/**
 * After a restore into another server: each tenant's login role again (its
 * password is the one sealed in the restored master database, so the
 * services' stored credentials keep working), and the same lock-down as at
 * provisioning (only that role connects to its database, none to the others).
 */
export async function restoreTenantAccess(deps: { db: Queryable; serverUrl: string; masterUrl: string; secrets: SecretBox }): Promise<number> {
  const tenants = await tenantsWithDatabases(deps.db);
  await withServerAdmin(deps.serverUrl, async (admin) => {
    for (const tenant of tenants) {
      await ensureTenantRole(admin, tenant.dbRole!, deps.secrets.open(tenant.dbSecret!));
      await lockDownTenantDatabase(admin, deps.serverUrl, tenant.dbName!, tenant.dbRole!);
    }
    await lockDownSharedDatabases(admin, databaseName(deps.masterUrl));
  });
  return tenants.length;
}
