import {
  ConflictError,
  ErrorCode,
  NotFoundError,
  recordAccessChange,
  recordAudit,
  withTransaction,
  type AuditActor,
  type Logger,
  type PlatformConfig,
  type Pool,
  type SecretBox,
  type TenantPoolCache,
} from '@codex/shared';
import { revokeAllApiKeys } from '../db/api-keys-repo';
import { dropTenantDatabase, withServerAdmin } from '../db/tenant-databases';
import { serverUrlOf } from './database-servers';
import {
  findTenantForUpdate,
  lockTenantDueForPurge,
  markTenantDeleting,
  markTenantPurged,
  restoreDeletedTenant,
  type TenantWithSecret,
} from '../db/tenants-repo';

export interface LifecycleDeps {
  db: Pool;
  tenants: Pick<TenantPoolCache, 'invalidate'>;
  /** DATABASE_URL's server ('default'); registered servers' URLs are opened with `secrets`. */
  serverUrl: string;
  secrets: SecretBox;
  /** TENANT_DELETE_GRACE_HOURS, in force while the live configuration's softDeleteGraceHours is null. */
  defaultGraceMs: number;
  settings: Pick<PlatformConfig, 'current'>;
  logger: Logger;
}

const TENANT_NOT_FOUND = () => new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);

/**
 * Soft delete: the tenant's keys stop working on every gateway within a poll and its pooled connections
 * close, but its database stays until `purgeAfter` (TENANT_DELETE_GRACE_HOURS), and a restore brings it
 * back as it was. Asked again while it is being deleted, it changes nothing. A purged tenant is 404.
 */
export async function deleteTenant(deps: LifecycleDeps, id: string, actor: AuditActor): Promise<TenantWithSecret> {
  const { softDeleteGraceHours } = (await deps.settings.current()).settings;
  const graceMs = softDeleteGraceHours === null ? deps.defaultGraceMs : softDeleteGraceHours * 3_600_000;
  const tenant = await withTransaction(deps.db, async (tx) => {
    const current = await findTenantForUpdate(tx, id);
    if (!current || current.status === 'deleted') throw TENANT_NOT_FOUND();
    if (current.status === 'deleting') return current;
    if (current.status === 'provisioning') {
      throw new ConflictError('The tenant is still being provisioned; delete it once that has finished or failed', undefined, ErrorCode.TENANT_NOT_READY);
    }
    const deleting = await markTenantDeleting(tx, id, new Date(Date.now() + graceMs));
    await recordAccessChange(tx, { kind: 'tenant_deleted', tenantId: id });
    await recordAudit(tx, {
      ...actor,
      tenantId: id,
      action: 'tenant.deleted',
      targetType: 'tenant',
      targetId: id,
      details: { before: { status: current.status }, after: { status: 'deleting', purgeAfter: deleting.purgeAfter } },
    });
    return deleting;
  });
  await deps.tenants.invalidate(id);
  return tenant;
}

/** Brings a tenant being deleted back as it was before (active, suspended or failed); 409 for any other. */
export async function restoreTenant(deps: LifecycleDeps, id: string, actor: AuditActor): Promise<TenantWithSecret> {
  return withTransaction(deps.db, async (tx) => {
    const current = await findTenantForUpdate(tx, id);
    if (!current || current.status === 'deleted') throw TENANT_NOT_FOUND();
    if (current.status !== 'deleting') throw new ConflictError(`The tenant is ${current.status}, not being deleted`, undefined, ErrorCode.TENANT_NOT_DELETING);
    const restored = await restoreDeletedTenant(tx, id);
    await recordAccessChange(tx, { kind: 'tenant_restored', tenantId: id });
    await recordAudit(tx, {
      ...actor,
      tenantId: id,
      action: 'tenant.restored',
      targetType: 'tenant',
      targetId: id,
      details: { before: { status: 'deleting', purgeAfter: current.purgeAfter }, after: { status: restored.status } },
    });
    return restored;
  });
}

/**
 * The purge job: drops the database and role of every tenant whose grace has run out, revokes its keys
 * and marks it `deleted`, one tenant per transaction (its row stays locked while its database is
 * dropped, so two instances never purge the same tenant). Safe to run again after a crash at any point.
 */
export async function purgeDeletedTenants(deps: LifecycleDeps): Promise<{ purged: number }> {
  let purged = 0;
  for (;;) {
    const done = await withTransaction(deps.db, async (tx) => {
      const tenant = await lockTenantDueForPurge(tx);
      if (!tenant) return false;
      await deps.tenants.invalidate(tenant.id);
      if (tenant.dbName && tenant.dbRole)
        await withServerAdmin(await serverUrlOf(deps, tenant.dbServer), (admin) => dropTenantDatabase(admin, tenant.dbName!, tenant.dbRole!));
      await revokeAllApiKeys(tx, tenant.id);
      await markTenantPurged(tx, tenant.id);
      await recordAudit(tx, {
        actorType: 'system',
        actorId: 'tenant-purge',
        tenantId: tenant.id,
        action: 'tenant.purged',
        targetType: 'tenant',
        targetId: tenant.id,
        details: { before: { status: 'deleting', dbName: tenant.dbName, deletedAt: tenant.deletedAt }, after: { status: 'deleted' } },
      });
      return true;
    });
    if (!done) break;
    purged += 1;
  }
  if (purged > 0) deps.logger.info('tenants purged', { purged });
  return { purged };
}
