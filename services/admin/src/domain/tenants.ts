import { ErrorCode, ConflictError, NotFoundError, type Queryable, type TenantPoolCache } from '@codex/shared';
import { findTenantById, findTenantBySlug, listTenants, publicTenant, updateTenant, type TenantStatus, type TenantWithSecret } from '../db/tenants-repo';

/** What a tenant looks like outside the admin service: never its sealed database password. */
export { publicTenant };

export type TenantChanges = Parameters<typeof updateTenant>[2];

/**
 * Renames a tenant, changes its settings, or suspends and reactivates it.
 * Only a provisioned tenant (active or suspended) may change status; one
 * still provisioning is finished by provisioning, not by an admin.
 */
export async function changeTenant(
  { db, tenants }: { db: Queryable; tenants: Pick<TenantPoolCache, 'invalidate'> },
  id: string,
  changes: TenantChanges,
): Promise<TenantWithSecret> {
  const current = await tenantById(db, id);
  if (changes.status && current.status !== 'active' && current.status !== 'suspended') {
    throw new ConflictError(`A ${current.status} tenant cannot be ${changes.status}`, undefined, ErrorCode.TENANT_NOT_READY);
  }
  // The UPDATE itself only moves status between active and suspended, so a concurrent change cannot slip past this check.
  const updated = await updateTenant(db, id, changes);
  if (!updated) throw TENANT_NOT_FOUND();
  // A suspended tenant's pooled connections in this process close now rather than idling out.
  if (updated.status === 'suspended') await tenants.invalidate(id);
  return updated;
}

const TENANT_NOT_FOUND = () => new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);

/** One tenant, or 404 TENANT_NOT_FOUND. */
export async function tenantById(db: Queryable, id: string): Promise<TenantWithSecret> {
  const tenant = await findTenantById(db, id);
  if (!tenant) throw TENANT_NOT_FOUND();
  return tenant;
}

/** Tenants, newest first, a page at a time. */
export function tenantPage(db: Queryable, filter: { status?: TenantStatus; limit: number; offset: number }) {
  return listTenants(db, filter);
}

/** One tenant by slug, or 404 TENANT_NOT_FOUND. */
export async function tenantBySlug(db: Queryable, slug: string): Promise<TenantWithSecret> {
  const tenant = await findTenantBySlug(db, slug);
  if (!tenant) throw new NotFoundError(`No tenant with slug ${JSON.stringify(slug)}`, ErrorCode.TENANT_NOT_FOUND);
  return tenant;
}
