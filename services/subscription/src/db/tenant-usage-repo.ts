import { countInTenant, type Queryable } from '@codex/shared';

export interface TenantDataUsage {
  users: number;
  clients: number;
  storageBytes: number;
}

/** What a tenant's database holds that its plan limits, counted as the services that enforce the limits count. */
export async function tenantDataUsage(db: Queryable): Promise<TenantDataUsage> {
  return { users: await countInTenant(db, 'users'), clients: await countInTenant(db, 'clients'), storageBytes: await countInTenant(db, 'storageBytes') };
}
