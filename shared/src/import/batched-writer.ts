import type { z } from 'zod';
import type { Actor } from '../auth/record-rules';
import { matchIdentity, RowBatcher, writeBatchIsolatingRows, type FileRow, type MatchableRow, type UpsertCounts } from '../db/batch-upsert';
import type { PoolClient } from '../db/pool';
import type { TenantPoolCache } from '../db/tenant-pool-cache';
import { atomicRejection, type ImportRun, type ImportWriter } from './import-runner';

/** Rows per statement. */
const BATCH_SIZE = 500;
/** Reasons kept per bad row. */
const MAX_ISSUES_PER_ROW = 5;

export interface BatchedWriterOptions<Row extends FileRow & MatchableRow, Written extends FileRow = Row> {
  tenants: TenantPoolCache;
  actor: Actor;
  /** All rows or none: the whole file is one transaction and one bad row fails it. */
  atomic: boolean;
  /** One record of the file (JSON form) → a row; its issues fail the row, by field. */
  schema: z.ZodType<Omit<Row, 'line'>>;
  /** Work on a whole batch before it is written (e.g. resolving links in one call); failed rows are left out via `run`. */
  prepare?: (batch: Row[], run: ImportRun) => Promise<Written[]>;
  /** Upserts rows inside `tx` (one statement per call, ideally). */
  write: (tx: PoolClient, rows: Written[]) => Promise<UpsertCounts>;
  /** What a row is, for messages: 'client', 'contact'. */
  subject: string;
}

/**
 * The writer most entities need: validates each record, batches rows so no
 * batch touches a record twice (a later line sees the earlier one written),
 * and upserts each batch in its own transaction, isolating the rows the
 * database refuses; with `atomic`, in one transaction for the whole file.
 */
export function batchedImportWriter<Row extends FileRow & MatchableRow, Written extends FileRow = Row>(
  options: BatchedWriterOptions<Row, Written>,
): ImportWriter {
  const { tenants, actor, schema, subject } = options;
  const writeAll = async (records: Parameters<ImportWriter>[0], run: ImportRun, atomicTx?: PoolClient) => {
    const batcher = new RowBatcher<Row>(BATCH_SIZE, matchIdentity);
    const flush = async (batch: Row[]) => {
      const rows = options.prepare ? await options.prepare(batch, run) : (batch as unknown as Written[]);
      if (rows.length > 0) {
        const writeIn = (tx: PoolClient) => writeBatchIsolatingRows(tx, rows, (some) => options.write(tx, some), subject);
        const outcome = atomicTx ? await writeIn(atomicTx) : await tenants.transaction(actor.tenantId, writeIn);
        run.count(outcome);
        for (const error of outcome.errors) run.fail(error);
      }
      await run.saveProgress();
    };
    for await (const record of records) {
      const parsed = schema.safeParse(record.value);
      if (!parsed.success) {
        run.fail(
          ...parsed.error.issues
            .slice(0, MAX_ISSUES_PER_ROW)
            .map((issue) => ({ line: record.line, field: issue.path.join('.') || undefined, message: issue.message })),
        );
        continue;
      }
      const ready = batcher.add({ ...parsed.data, line: record.line } as Row);
      if (ready) await flush(ready);
    }
    const rest = batcher.take();
    if (rest.length) await flush(rest);
    if (atomicTx && run.progress.rowsFailed > 0) throw atomicRejection();
  };
  return (records, run) => (options.atomic ? tenants.transaction(actor.tenantId, (tx) => writeAll(records, run, tx)) : writeAll(records, run));
}
