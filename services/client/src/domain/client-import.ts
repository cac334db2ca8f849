import { matchIdentity, RowBatcher, writeBatchIsolatingRows, type Actor, type PoolClient, type TenantPoolCache } from '@codex/shared';
import { upsertClients, type UpsertRow } from '../db/client-transfer-repo';
import { ImportRow } from './client-records';
import { atomicRejection, type FileRecord, type ImportRun, type ImportWriter } from './import-file';

const BATCH_SIZE = 500;

/**
 * Writes imported clients in batches of 500, validating row by row. Rows
 * upsert by external id, else by email, so running the same file twice
 * changes nothing. Without `atomic`, each batch commits on its own and bad
 * rows are reported and skipped; with it, the whole file is one transaction
 * and one bad row fails it.
 */
export function clientWriter(tenants: TenantPoolCache, actor: Actor, atomic: boolean): ImportWriter {
  const writeAll = async (records: AsyncIterable<FileRecord>, run: ImportRun, atomicTx?: PoolClient) => {
    const batcher = new RowBatcher<UpsertRow>(BATCH_SIZE, matchIdentity);
    const write = async (batch: UpsertRow[]) => {
      const writeIn = (tx: PoolClient) => writeBatchIsolatingRows(tx, batch, (rows) => upsertClients(tx, rows, actor.userId), 'client');
      const outcome = atomicTx ? await writeIn(atomicTx) : await tenants.transaction(actor.tenantId, writeIn);
      run.count(outcome);
      for (const error of outcome.errors) run.fail(error);
      await run.saveProgress();
    };
    for await (const record of records) {
      const parsed = ImportRow.safeParse(record.value);
      if (!parsed.success) {
        run.fail(...parsed.error.issues.slice(0, 5).map((issue) => ({ line: record.line, field: issue.path.join('.') || undefined, message: issue.message })));
        continue;
      }
      const ready = batcher.add({ ...parsed.data, line: record.line });
      if (ready) await write(ready);
    }
    const rest = batcher.take();
    if (rest.length) await write(rest);
    if (atomicTx && run.progress.rowsFailed > 0) throw atomicRejection();
  };
  return (records, run) =>
    atomic ? tenants.transaction(actor.tenantId, (tx) => writeAll(records, run, tx)) : writeAll(records, run);
}
