import { createInterface } from 'node:readline';
import { PassThrough, Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, ErrorCode, inTransaction, type Actor, type PoolClient, type TenantPoolCache } from '@codex/shared';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { customFieldNames, matchKeyOf, streamClientRows, upsertClients, withSavepoint, type MatchKey, type UpsertRow } from '../db/client-transfer-repo';
import { toClient, type ClientRow } from '../db/clients-repo';
import { insertImportJob, recordProgress, type ImportJob, type JobProgress, type RowError } from '../db/import-jobs-repo';
import { csvHeader, fromCsvRecord, ImportRow, toCsvRecord, toRecord } from './client-records';

const BATCH_SIZE = 500;
/** Errors kept on the job; the count goes on beyond. */
const MAX_REPORTED_ERRORS = 1_000;

export interface ImportOptions {
  format: 'csv' | 'jsonl';
  /** All rows or none: any bad row fails the whole import. */
  atomic: boolean;
  maxBytes: number;
}

/** Counts bytes as they pass and fails the stream past the limit (413), so an endless upload is cut off. */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 413, `Import files are limited to ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
}

interface ParsedRecord {
  /** Line of the file the record ends on (1-based; a CSV header is line 1). */
  line: number;
  value?: Record<string, unknown>;
  error?: string;
}

/** The upload as records, one by one, malformed ones included as errors (the rest still come). */
async function* records(body: Readable, format: ImportOptions['format']): AsyncGenerator<ParsedRecord> {
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input: body, crlfDelay: Infinity })) {
      line += 1;
      if (text.trim() === '') continue;
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, error: 'each line must be a JSON object' };
        else yield { line, value: value as Record<string, unknown> };
      } catch {
        yield { line, error: 'not valid JSON' };
      }
    }
    return;
  }
  // The parser reads ahead of us, so skipped records are queued with their own line numbers and yielded in order.
  const skipped: ParsedRecord[] = [];
  const parser = body.pipe(
    parse({
      columns: true,
      bom: true,
      trim: true,
      info: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: 1_000_000,
      on_skip: (err) => {
        skipped.push({ line: (err as { lines?: number } | undefined)?.lines ?? 0, error: `malformed CSV line: ${err?.message ?? 'unreadable'}` });
      },
    }),
  );
  body.on('error', (err) => parser.destroy(err));
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (skipped.length && skipped[0]!.line < info.lines) yield skipped.shift()!;
    yield { line: info.lines, value: fromCsvRecord(record) };
  }
  while (skipped.length) yield skipped.shift()!;
}

class ImportRun {
  readonly progress: JobProgress = { rowsRead: 0, rowsInserted: 0, rowsUpdated: 0, rowsFailed: 0, errors: [] };

  /** One failed row, with one or more reasons. */
  fail(...errors: RowError[]): void {
    this.progress.rowsFailed += 1;
    for (const error of errors) if (this.progress.errors.length < MAX_REPORTED_ERRORS) this.progress.errors.push(error);
  }

  count(result: { inserted: number; updated: number }): void {
    this.progress.rowsInserted += result.inserted;
    this.progress.rowsUpdated += result.updated;
  }
}

/** Writes one batch: one statement per match key; if that fails, row by row so only the bad rows fail. */
async function writeBatch(tx: PoolClient, run: ImportRun, batch: UpsertRow[], actor: Actor, isolateRows: boolean): Promise<void> {
  const groups = new Map<MatchKey, UpsertRow[]>();
  for (const row of batch) groups.set(matchKeyOf(row), [...(groups.get(matchKeyOf(row)) ?? []), row]);
  try {
    const results = await withSavepoint(tx, async () => {
      const counted = [];
      for (const [key, rows] of groups) counted.push(await upsertClients(tx, key, rows, actor.userId));
      return counted;
    });
    results.forEach((result) => run.count(result));
  } catch (err) {
    if (!isolateRows) throw err;
    for (const row of batch) {
      try {
        run.count(await withSavepoint(tx, () => upsertClients(tx, matchKeyOf(row), [row], actor.userId)));
      } catch (rowError) {
        const code = (rowError as { code?: string }).code;
        run.fail({ line: row.line, message: code === '23505' ? 'another client already has this email or external id' : 'rejected by the database' });
      }
    }
  }
}

/**
 * Imports clients from a CSV or JSON-lines stream in bounded memory (batches
 * of 500), validating row by row. Rows upsert by external id, else by email,
 * so running the same file twice changes nothing. Without `atomic`, bad rows
 * are reported and skipped; with it, one bad row fails the whole import.
 */
export async function importClients(tenants: TenantPoolCache, actor: Actor, body: Readable, options: ImportOptions): Promise<ImportJob> {
  const job = await tenants.withClient(actor.tenantId, (db) => insertImportJob(db, { format: options.format, atomic: options.atomic, createdBy: actor.userId }));
  const run = new ImportRun();
  const saveProgress = (finish?: { status: 'completed' | 'failed'; failure?: string }) =>
    tenants.withClient(actor.tenantId, (db) => recordProgress(db, job.id, run.progress, finish));

  const limited = body.pipe(byteLimit(options.maxBytes));
  body.on('error', (err) => limited.destroy(err));

  // Atomic imports hold one transaction for the whole file; others commit batch by batch.
  const importAll = async (atomicTx?: PoolClient) => {
    let batch: UpsertRow[] = [];
    let keys = new Set<string>();
    const flush = async () => {
      if (batch.length === 0) return;
      if (atomicTx) await writeBatch(atomicTx, run, batch, actor, false);
      else await tenants.withClient(actor.tenantId, (db) => inTransaction(db, (tx) => writeBatch(tx, run, batch, actor, true)));
      batch = [];
      keys = new Set();
      await saveProgress();
    };
    for await (const record of records(limited, options.format)) {
      run.progress.rowsRead += 1;
      if (record.error) {
        run.fail({ line: record.line, message: record.error });
        continue;
      }
      const parsed = ImportRow.safeParse(record.value);
      if (!parsed.success) {
        run.fail(...parsed.error.issues.slice(0, 5).map((issue) => ({ line: record.line, field: issue.path.join('.') || undefined, message: issue.message })));
        continue;
      }
      const row: UpsertRow = { ...parsed.data, line: record.line };
      // A second row for the same client in one batch must see the first one written.
      const key = row.externalId ? `x:${row.externalId}` : row.email ? `e:${row.email.toLowerCase()}` : undefined;
      if (key && keys.has(key)) await flush();
      if (key) keys.add(key);
      batch.push(row);
      if (batch.length >= BATCH_SIZE) await flush();
    }
    await flush();
    if (atomicTx && run.progress.rowsFailed > 0) throw new AppError('IMPORT_REJECTED', 422, 'Some rows are invalid; nothing was imported (atomic)');
  };

  try {
    if (options.atomic) {
      await tenants.withClient(actor.tenantId, (db) => inTransaction(db, (tx) => importAll(tx)));
    } else {
      await importAll();
    }
  } catch (err) {
    if (options.atomic) {
      run.progress.rowsInserted = 0;
      run.progress.rowsUpdated = 0;
    }
    const failed = await saveProgress({ status: 'failed', failure: err instanceof AppError ? err.message : 'import stopped by an error' });
    if (err instanceof AppError && err.status === 413) throw err;
    if (err instanceof AppError) return failed;
    throw err;
  }
  return saveProgress({ status: 'completed' });
}

/**
 * Streams every live client as CSV or JSON lines, straight from a database
 * cursor to the response (backpressure included; nothing is buffered whole).
 * CSV cells that a spreadsheet would run as formulas are neutralised.
 */
export async function exportClients(tenants: TenantPoolCache, actor: Actor, format: 'csv' | 'jsonl', out: Writable): Promise<void> {
  await tenants.withClient(actor.tenantId, (client) => inTransaction(client, async (db) => {
    // One cursor over the whole table is one long statement: it gets its own limit, not the pool's per-query one.
    await db.query(`SET LOCAL statement_timeout = '30min'`);
    const customColumns = format === 'csv' ? await customFieldNames(db) : [];
    const rows = streamClientRows(db);
    const encode =
      format === 'csv'
        ? [
            new Transform({
              objectMode: true,
              transform: (row: ClientRow, _e, done) => done(null, toCsvRecord(toClient(row), customColumns)),
            }),
            stringify({ header: true, columns: csvHeader(customColumns) }),
          ]
        : [
            new Transform({
              writableObjectMode: true,
              transform: (row: ClientRow, _e, done) => done(null, `${JSON.stringify(toRecord(toClient(row)))}\n`),
            }),
          ];
    await pipeline(rows as unknown as Readable, ...(encode as [Transform]), new PassThrough(), out);
  }));
}
