import { ErrorCode, ConflictError, NotFoundError, type Queryable } from '@codex/shared';
import { findTenantById, updateTenant, type TenantWithSecret } from '../db/tenants-repo';

export type TenantChanges = Parameters<typeof updateTenant>[2];

/**
 * Renames a tenant, changes its settings, or suspends and reactivates it.
 * Only a provisioned tenant (active or suspended) may change status; one
 * still provisioning is finished by provisioning, not by an admin.
 */
export async function changeTenant(db: Queryable, id: string, changes: TenantChanges): Promise<TenantWithSecret> {
  const current = await findTenantById(db, id);
  if (!current) throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
  if (changes.status && current.status !== 'active' && current.status !== 'suspended') {
    throw new ConflictError(`A ${current.status} tenant cannot be ${changes.status}`, undefined, ErrorCode.TENANT_NOT_READY);
  }
  // The UPDATE itself only moves status between active and suspended, so a concurrent change cannot slip past this check.
  const updated = await updateTenant(db, id, changes);
  if (!updated) throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
  return updated;
}
