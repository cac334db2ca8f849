import { batchedImportWriter, type Actor, type ImportWriter, type TenantPoolCache } from '@codex/shared';
import { upsertClients, type UpsertRow } from '../db/client-transfer-repo';
import { ImportRow } from './client-records';

/**
 * Writes imported clients: each row validated, upserted by external id, else
 * email, so running the same file twice changes nothing.
 */
export function clientWriter(tenants: TenantPoolCache, actor: Actor, atomic: boolean): ImportWriter {
  return batchedImportWriter<UpsertRow>({
    tenants,
    actor,
    atomic,
    schema: ImportRow,
    write: (tx, rows) => upsertClients(tx, rows, actor.userId),
    subject: 'client',
  });
}
