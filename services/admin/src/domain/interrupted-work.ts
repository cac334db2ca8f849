import { closedTenantDatabases, dropTenantDatabase, reopenTenantDatabase, withServerAdmin } from '../db/tenant-databases';
import { finishTenantImport, runningTenantImportsOlderThan } from '../db/tenant-imports-repo';
import { tenantsOnServer } from '../db/tenants-repo';
import { watchedDatabaseServers } from './database-servers';
import { tryTenantLock, type ProvisioningDeps } from './provisioning';
import { discardUnfinishedTenant } from './tenant-transfer';

/** An import younger than this may not have taken its tenant's lock yet. */
const IMPORT_SETTLE_MS = 60_000;

export interface Recovered {
  /** Tenant databases a dead move left closed, opened again. */
  reopened: number;
  /** Old copies a dead move left behind after its switch, dropped. */
  dropped: number;
  /** Imports whose process died, failed and their half-made tenants removed. */
  importsFailed: number;
}

/**
 * Finishes what an admin process died in the middle of; run at start and every few minutes (the
 * admin jobs). Imports and moves hold their tenant's lock for their whole run, so a free lock on work
 * recorded as running means its process is gone:
 * - a move that died in its pause left the tenant's database closed to connections: it is opened again
 *   (the tenant stays where it was; the new copy is replaced by the next move);
 * - a move that died after its switch left the old copy: it is dropped;
 * - an import that died left a job `running` and a tenant never activated: the tenant goes, the job fails.
 */
export async function recoverInterruptedWork(deps: ProvisioningDeps): Promise<Recovered> {
  const recovered: Recovered = { reopened: 0, dropped: 0, importsFailed: 0 };
  for (const server of await watchedDatabaseServers(deps).catch(() => [])) {
    const closed = await withServerAdmin(server.url, closedTenantDatabases).catch((): string[] => []);
    if (closed.length === 0) continue;
    for (const tenant of await tenantsOnServer(deps.db, closed)) {
      const outcome = await tryTenantLock(deps.db, tenant.id, async () => {
        if (tenant.dbServer === server.name) {
          await withServerAdmin(server.url, (admin) => reopenTenantDatabase(admin, tenant.dbName));
          recovered.reopened += 1;
        } else {
          await withServerAdmin(server.url, (admin) => dropTenantDatabase(admin, tenant.dbName, tenant.dbRole));
          recovered.dropped += 1;
        }
      });
      if ('skipped' in outcome) continue;
      deps.logger.warn('a tenant move was interrupted; its database is usable again', { tenantId: tenant.id, server: server.name });
    }
  }
  for (const job of await runningTenantImportsOlderThan(deps.db, IMPORT_SETTLE_MS)) {
    const fail = () =>
      finishTenantImport(deps.db, job.id, { status: 'failed', failure: 'the admin service stopped during the import; import the archive again' });
    if (!job.tenantId) {
      await fail();
      recovered.importsFailed += 1;
      continue;
    }
    const outcome = await tryTenantLock(deps.db, job.tenantId, async () => {
      await discardUnfinishedTenant(deps, job.tenantId!);
      await fail();
    });
    if ('done' in outcome) recovered.importsFailed += 1;
  }
  if (recovered.reopened + recovered.dropped + recovered.importsFailed > 0) deps.logger.warn('interrupted work recovered', { ...recovered });
  return recovered;
}
