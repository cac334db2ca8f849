import {
  ErrorCode,
  ConflictError,
  NotFoundError,
  recordAccessChange,
  recordAudit,
  withTransaction,
  type AuditActor,
  type Pool,
  type Queryable,
  type TenantPoolCache,
} from '@codex/shared';
import {
  findTenantById,
  findTenantBySlug,
  listTenants,
  publicTenant,
  setUnpaidHold,
  updateTenant,
  type TenantStatus,
  type TenantWithSecret,
} from '../db/tenants-repo';

/** What a tenant looks like outside the admin service: never its sealed database password. */
export { publicTenant };

export type TenantChanges = Parameters<typeof updateTenant>[2];

/**
 * Renames a tenant, changes its settings, or suspends and reactivates it.
 * Only a provisioned tenant (active or suspended) may change status; one
 * still provisioning is finished by provisioning, not by an admin.
 */
export async function changeTenant(
  { db, tenants }: { db: Pool; tenants: Pick<TenantPoolCache, 'invalidate'> },
  id: string,
  changes: TenantChanges,
  actor: AuditActor,
): Promise<TenantWithSecret> {
  const updated = await withTransaction(db, async (tx) => {
    const current = await tenantById(tx, id);
    if (changes.status && current.status !== 'active' && current.status !== 'suspended') {
      throw new ConflictError(`A ${current.status} tenant cannot be ${changes.status}`, undefined, ErrorCode.TENANT_NOT_READY);
    }
    // The UPDATE itself only moves status between active and suspended, so a concurrent change cannot slip past this check.
    const changed = await updateTenant(tx, id, changes);
    if (!changed) throw TENANT_NOT_FOUND();
    const statusChanged = changed.status !== current.status;
    if (statusChanged) await recordAccessChange(tx, { kind: changed.status === 'suspended' ? 'tenant_suspended' : 'tenant_resumed', tenantId: id });
    await recordAudit(tx, {
      ...actor,
      tenantId: id,
      action: statusChanged ? (changed.status === 'suspended' ? 'tenant.suspended' : 'tenant.reactivated') : 'tenant.updated',
      targetType: 'tenant',
      targetId: id,
      details: {
        ...(statusChanged ? { reason: 'admin' } : {}),
        before: { name: current.name, status: current.status },
        after: { name: changed.name, status: changed.status, ...(changes.settings ? { settings: changes.settings } : {}) },
      },
    });
    return changed;
  });
  // A suspended tenant's pooled connections in this process close now rather than idling out.
  if (updated.status === 'suspended') await tenants.invalidate(id);
  return updated;
}

/**
 * Suspends or resumes a tenant by an admin's decision. Asked again, it changes nothing and answers the
 * tenant as it is (no second audit entry). Resuming lifts an unpaid suspension too: the admin overrides it.
 */
export async function setTenantSuspended(
  deps: { db: Pool; tenants: Pick<TenantPoolCache, 'invalidate'> },
  id: string,
  suspended: boolean,
  actor: AuditActor,
): Promise<TenantWithSecret> {
  const current = await tenantById(deps.db, id);
  const already = suspended ? current.status === 'suspended' && current.suspendedFor === 'admin' : current.status === 'active';
  if (already) return current;
  return changeTenant(deps, id, { status: suspended ? 'suspended' : 'active' }, actor);
}

/**
 * The billing service's dunning: suspends an active tenant for an unpaid
 * invoice, or reactivates one suspended for that reason alone. An admin's
 * own suspension is never lifted by this, and an admin who reactivates a
 * tenant overrides it. Asked again, it changes nothing; each change is audited.
 */
export async function setBillingHold(
  { db, tenants }: { db: Pool; tenants: Pick<TenantPoolCache, 'invalidate'> },
  id: string,
  hold: { hold: boolean; invoiceId?: string },
): Promise<{ tenant: TenantWithSecret; changed: boolean }> {
  const outcome = await withTransaction(db, async (tx) => {
    const changed = await setUnpaidHold(tx, id, hold.hold);
    if (!changed) return { tenant: await tenantById(tx, id), changed: false };
    await recordAccessChange(tx, { kind: changed.status === 'suspended' ? 'tenant_suspended' : 'tenant_resumed', tenantId: id });
    await recordAudit(tx, {
      actorType: 'service',
      actorId: 'billing',
      tenantId: id,
      action: hold.hold ? 'tenant.suspended' : 'tenant.reactivated',
      targetType: 'tenant',
      targetId: id,
      details: {
        reason: 'unpaid',
        invoiceId: hold.invoiceId ?? null,
        before: { status: hold.hold ? 'active' : 'suspended' },
        after: { status: changed.status },
      },
    });
    return { tenant: changed, changed: true };
  });
  if (outcome.changed && outcome.tenant.status === 'suspended') await tenants.invalidate(id);
  return outcome;
}

const TENANT_NOT_FOUND = () => new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);

/** One tenant, or 404 TENANT_NOT_FOUND. */
export async function tenantById(db: Queryable, id: string): Promise<TenantWithSecret> {
  const tenant = await findTenantById(db, id);
  if (!tenant) throw TENANT_NOT_FOUND();
  return tenant;
}

/** Tenants, newest first, a page at a time; `q` searches slug and name. */
export function tenantPage(db: Queryable, filter: { status?: TenantStatus; q?: string; limit: number; offset: number }) {
  return listTenants(db, filter);
}

/** One tenant by slug, or 404 TENANT_NOT_FOUND. */
export async function tenantBySlug(db: Queryable, slug: string): Promise<TenantWithSecret> {
  const tenant = await findTenantBySlug(db, slug);
  if (!tenant) throw new NotFoundError(`No tenant with slug ${JSON.stringify(slug)}`, ErrorCode.TENANT_NOT_FOUND);
  return tenant;
}
