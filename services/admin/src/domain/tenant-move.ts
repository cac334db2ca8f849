import {
  ConflictError,
  ErrorCode,
  NotFoundError,
  recordAccessChange,
  ServiceUnavailableError,
  withClient,
  withDatabase,
  withTransaction,
  type AuditActor,
  type AuditWriter,
} from '@codex/shared';
import type pg from 'pg';
import {
  closeTenantDatabase,
  createTenantDatabase,
  dropDatabaseIfExists,
  dropTenantDatabase,
  ensureTenantRole,
  lockDownSharedDatabasesOnce,
  reopenTenantDatabase,
  withServerAdmin,
} from '../db/tenant-databases';
import { findTenantById, moveTenantPlacement, publicTenant, type Tenant } from '../db/tenants-repo';
import { serverUrlOf, usableServerUrl } from './database-servers';
import { serverDepsOf, withTenantLock, type ProvisioningDeps } from './provisioning';
import { appliedMigrations, inSnapshot, loadTenantArchive, tenantArchiveLines } from './tenant-archive';

export interface MoveResult {
  tenant: Tenant;
  from: string;
  to: string;
  rows: number;
  /** From closing the old database to connections until the new placement was committed. */
  writePauseMs: number;
}

/**
 * Moves a tenant's database to another server and switches the tenant to it:
 *
 * 1. The copy's home is made on the target first, while the tenant still serves: its role and a fresh
 *    database from the target's migrated template (one a failed earlier move left is replaced).
 * 2. The pause: the old database is closed to new connections and every session in it is ended
 *    (waiting until each has exited, so whatever was acknowledged is committed). Requests in the pause
 *    get 503 with Retry-After from the services; none is acknowledged and then lost.
 * 3. The rows stream from a REPEATABLE READ snapshot of the old database straight into one transaction
 *    on the new one (no file; the same archive lines as an export), counts and trailer checked.
 * 4. The switch: the tenant's placement changes in the master database with an access change, so every
 *    service drops its pools to the old server within a poll and connects to the new one.
 * 5. The old copy is dropped.
 *
 * Refused before anything happens: an unknown tenant or server (404), one not serving or already there,
 * a server not active (409), a server that does not answer (503: the tenant stays where it is, serving).
 * A failure during the copy reopens the old database and removes the new one.
 */
export async function moveTenant(
  deps: ProvisioningDeps,
  tenantId: string,
  target: string,
  actor: AuditActor,
  audit: Pick<AuditWriter, 'append'>,
): Promise<MoveResult> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant || tenant.status === 'deleted') throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
  if ((tenant.status !== 'active' && tenant.status !== 'suspended') || !tenant.dbName || !tenant.dbRole || !tenant.dbSecret)
    throw new ConflictError(`The tenant is ${tenant.status}; only active and suspended tenants move`, undefined, ErrorCode.TENANT_NOT_READY);
  if (tenant.dbServer === target) throw new ConflictError(`The tenant is on "${target}" already`, undefined, ErrorCode.TENANT_ALREADY_THERE);
  const targetUrl = await usableServerUrl(serverDepsOf(deps), target);
  const sourceUrl = await serverUrlOf(deps, tenant.dbServer);
  const { dbName, dbRole } = tenant as typeof tenant & { dbName: string; dbRole: string };

  return withTenantLock(deps.db, tenantId, async () => {
    await withServerAdmin(targetUrl, async (admin) => {
      await dropDatabaseIfExists(admin, dbName);
      await ensureTenantRole(admin, dbRole, deps.secrets.open(tenant.dbSecret!));
      await createTenantDatabase(admin, targetUrl, dbName, dbRole, deps.templateDatabase, deps.logger);
      await lockDownSharedDatabasesOnce(admin, targetUrl, 'postgres');
    });
    let pausedAt = 0;
    let rows = 0;
    try {
      rows = await withClient(withDatabase(sourceUrl, dbName), (source) =>
        withClient(withDatabase(targetUrl, dbName), async (destination) => {
          const [theirs, ours] = [await appliedMigrations(source), await appliedMigrations(destination)];
          if (JSON.stringify(theirs) !== JSON.stringify(ours))
            throw new ConflictError('The two servers hold different tenant schemas; run the migrations first', undefined, ErrorCode.CONFLICT);
          pausedAt = performance.now();
          const {
            rows: [own],
          } = await source.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await withServerAdmin(sourceUrl, (admin) => closeTenantDatabase(admin, dbName, own!.pid));
          return copyRows(source, destination, tenant);
        }),
      );
    } catch (err) {
      if (pausedAt)
        await withServerAdmin(sourceUrl, (admin) => reopenTenantDatabase(admin, dbName)).catch((reopenErr: unknown) =>
          deps.logger.error('could not reopen a tenant database after a failed move', { tenantId, err: reopenErr }),
        );
      await withServerAdmin(targetUrl, (admin) => dropDatabaseIfExists(admin, dbName)).catch(() => undefined);
      deps.logger.warn('tenant move failed; the tenant stays where it was', { tenantId, from: tenant.dbServer, to: target, err });
      if (err instanceof ConflictError) throw err;
      throw new ServiceUnavailableError('The move failed; the tenant stays where it was and serves again', err, 5);
    }
    const moved = await withTransaction(deps.db, async (tx) => {
      const placed = await moveTenantPlacement(tx, tenantId, target);
      await recordAccessChange(tx, { kind: 'tenant_moved', tenantId });
      return placed;
    });
    const writePauseMs = Math.round(performance.now() - pausedAt);
    await withServerAdmin(sourceUrl, (admin) => dropTenantDatabase(admin, dbName, dbRole)).catch((err: unknown) =>
      deps.logger.warn('the old copy of a moved tenant was not dropped; drop it by hand', { tenantId, server: tenant.dbServer, database: dbName, err }),
    );
    // After the switch has committed: the entry must not hold up (or undo) a move that happened.
    await audit.append({
      ...actor,
      tenantId,
      action: 'tenant.moved',
      targetType: 'tenant',
      targetId: tenantId,
      details: { before: { dbServer: tenant.dbServer }, after: { dbServer: target }, rows, writePauseMs },
    });
    deps.logger.info('tenant moved', { tenantId, from: tenant.dbServer, to: target, rows, writePauseMs });
    return { tenant: publicTenant(moved), from: tenant.dbServer, to: target, rows, writePauseMs };
  });
}

/** Copies every row of `source` into `destination` (one transaction there, one snapshot here); answers the rows copied. */
function copyRows(source: pg.Client, destination: pg.Client, tenant: { id: string; slug: string; name: string; plan: string }): Promise<number> {
  return inSnapshot(source, () =>
    loadTenantArchive(destination, tenantArchiveLines(source, { id: tenant.id, slug: tenant.slug, name: tenant.name, plan: tenant.plan })),
  );
}
