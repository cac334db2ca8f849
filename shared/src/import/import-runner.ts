import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import type { Actor } from '../auth/record-rules';
import type { RowError, UpsertCounts } from '../db/batch-upsert';
import type { TenantPoolCache } from '../db/tenant-pool-cache';
import { AppError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { counter, type MetricsRegistry } from '../metrics';
import type { Counter } from 'prom-client';
import { restoreFormula } from './csv-cells';
import { insertImportJob, recordProgress, type ImportEntity, type ImportJob, type JobProgress } from './import-jobs-repo';

/** Errors kept on the job; the count goes on beyond. */
const MAX_REPORTED_ERRORS = 1_000;

export interface ImportOptions {
  entity: ImportEntity;
  format: 'csv' | 'jsonl';
  /** All rows or none: any bad row fails the whole import. */
  atomic: boolean;
  maxBytes: number;
  /** A CSV record (column → text) → the record's JSON form; by default each cell with its formula guard removed. */
  fromCsv?: (record: Record<string, string>) => Record<string, unknown>;
}

/** Each cell as it was before export guarded it against spreadsheet formulas. */
export const plainCsvRecord = (record: Record<string, string>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).map(([column, value]) => [column, restoreFormula(value)]));

/** Counts bytes as they pass and fails the stream past the limit (413), so an endless upload is cut off. */
export function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 413, `Import files are limited to ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
}

export interface ParsedRecord {
  /** Line of the file the record ends on (1-based; a CSV header is line 1). */
  line: number;
  value?: Record<string, unknown>;
  error?: string;
}

/** The longest line (physical line of the file) an import reads; a longer one fails alone. */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Passes the file through line by line, holding at most MAX_LINE_BYTES of
 * the current line; a line longer than that is dropped whole (its newline
 * kept, so later line numbers stay right) and its number noted in `tooLong`.
 * The parser after it then never sees an oversized record, and picks up
 * again at the next line.
 */
class LineGuard extends Transform {
  readonly tooLong: number[] = [];
  private line = 1;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private dropping = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a, start); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      this.hold(chunk.subarray(start, newline + 1));
      if (this.dropping) {
        this.tooLong.push(this.line);
        this.push(Buffer.from('\n'));
      } else {
        this.push(Buffer.concat(this.held));
      }
      this.held = [];
      this.heldBytes = 0;
      this.dropping = false;
      this.line += 1;
      start = newline + 1;
    }
    this.hold(chunk.subarray(start));
    done();
  }

  override _flush(done: (err?: Error | null) => void): void {
    if (this.dropping) this.tooLong.push(this.line);
    else if (this.heldBytes > 0) this.push(Buffer.concat(this.held));
    done();
  }

  private hold(part: Buffer): void {
    if (this.dropping || part.length === 0) return;
    this.heldBytes += part.length;
    if (this.heldBytes > MAX_LINE_BYTES + 2) {
      this.dropping = true;
      this.held = [];
    } else {
      this.held.push(part);
    }
  }
}

/** The upload as records, one by one, malformed ones included as errors (the rest still come). */
async function* records(upload: Readable, { format, fromCsv = plainCsvRecord }: ImportOptions): AsyncGenerator<ParsedRecord> {
  const guard = new LineGuard();
  upload.on('error', (err) => guard.destroy(err));
  const body = upload.pipe(guard);
  const tooLong = (line: number): ParsedRecord => ({ line, error: `the line is longer than ${MAX_LINE_BYTES} bytes` });
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input: body, crlfDelay: Infinity })) {
      line += 1;
      while (guard.tooLong.length && guard.tooLong[0]! <= line) yield tooLong(guard.tooLong.shift()!);
      if (text.trim() === '') continue;
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, error: 'each line must be a JSON object' };
        else yield { line, value: value as Record<string, unknown> };
      } catch {
        yield { line, error: 'not valid JSON' };
      }
    }
    while (guard.tooLong.length) yield tooLong(guard.tooLong.shift()!);
    return;
  }
  // The parser reads ahead of us, so skipped records (its own, and lines the guard dropped) are queued with their line numbers and yielded in order.
  const skipped: ParsedRecord[] = [];
  const takeTooLong = () => {
    while (guard.tooLong.length) skipped.push(tooLong(guard.tooLong.shift()!));
    skipped.sort((a, b) => a.line - b.line);
  };
  const parser = body.pipe(
    parse({
      columns: true,
      bom: true,
      trim: true,
      info: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // A quoted field may span lines, each under MAX_LINE_BYTES; a record is still bounded.
      max_record_size: 4 * MAX_LINE_BYTES,
      on_skip: (err) => {
        skipped.push({ line: (err as { lines?: number } | undefined)?.lines ?? 0, error: `malformed CSV line: ${err?.message ?? 'unreadable'}` });
      },
    }),
  );
  body.on('error', (err) => parser.destroy(err));
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    takeTooLong();
    while (skipped.length && skipped[0]!.line < info.lines) yield skipped.shift()!;
    yield { line: info.lines, value: fromCsv(record) };
  }
  takeTooLong();
  while (skipped.length) yield skipped.shift()!;
}

/** A record of the file that parsed, ready for its entity's checks. */
export interface FileRecord {
  line: number;
  value: Record<string, unknown>;
}

const noProgress = (): JobProgress => ({ rowsRead: 0, rowsInserted: 0, rowsUpdated: 0, rowsFailed: 0, errors: [] });

/** The progress of one import, saved on its job as batches are written. */
export class ImportRun {
  readonly progress: JobProgress = noProgress();

  constructor(private readonly save: (run: ImportRun) => Promise<unknown>) {}

  /** One failed row, with one or more reasons. */
  fail(...errors: RowError[]): void {
    this.progress.rowsFailed += 1;
    this.report(errors);
  }

  /** Errors of rows already counted as failed, kept in file order (checks in different places report a batch's rows out of order). */
  report(errors: RowError[]): void {
    for (const error of errors) if (this.progress.errors.length < MAX_REPORTED_ERRORS) this.progress.errors.push(error);
    this.progress.errors.sort((a, b) => a.line - b.line);
  }

  count(result: UpsertCounts): void {
    this.progress.rowsInserted += result.inserted;
    this.progress.rowsUpdated += result.updated;
  }

  /** Forgets what an all-or-nothing import had written: it was rolled back. */
  rolledBack(): void {
    this.progress.rowsInserted = 0;
    this.progress.rowsUpdated = 0;
  }

  /** Saves progress on the job (after each written batch). */
  saveProgress(): Promise<unknown> {
    return this.save(this);
  }
}

/**
 * Writes the records of one entity. It gets the parsed records in file order
 * and decides batching and transactions; it reports through the run. It must
 * leave nothing written when it throws during an atomic import.
 */
export type ImportWriter = (records: AsyncIterable<FileRecord>, run: ImportRun) => Promise<void>;

/** The rejection of an atomic import with bad rows. */
export const atomicRejection = () => new AppError(ErrorCode.IMPORT_REJECTED, 422, 'Some rows are invalid; nothing was imported (atomic)');

/**
 * Runs one import job: reads the uploaded file (CSV or JSON lines) record by
 * record, counts and reports unreadable records by line, and hands the rest to
 * the entity's writer. The job records progress and the outcome; an import
 * that fails is answered as its failed job, except errors of the platform
 * itself (5xx), which are thrown after the job is marked failed.
 */
async function runImport(
  tenants: TenantPoolCache,
  actor: Actor,
  job: ImportJob,
  file: Readable,
  options: ImportOptions,
  write: ImportWriter,
): Promise<ImportJob> {
  const save = (run: ImportRun, finish?: { status: 'completed' | 'failed'; failure?: string }) =>
    tenants.withConnection(actor.tenantId, (db) => recordProgress(db, job.id, run.progress, finish));
  const run = new ImportRun(save);

  async function* parsed(): AsyncGenerator<FileRecord> {
    for await (const record of records(file, options)) {
      run.progress.rowsRead += 1;
      if (record.error !== undefined || !record.value) run.fail({ line: record.line, message: record.error ?? 'unreadable' });
      else yield { line: record.line, value: record.value };
    }
  }

  try {
    await write(parsed(), run);
  } catch (err) {
    if (options.atomic) run.rolledBack();
    const failed = await save(run, { status: 'failed', failure: err instanceof AppError ? err.message : 'import stopped by an error' });
    if (err instanceof AppError && err.status < 500) return failed;
    throw err;
  }
  return save(run, { status: 'completed' });
}

/** The promise's value if it settles within `ms`, else undefined (its rejection within `ms` is thrown). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}

const SPOOL_PREFIX = 'codex-import-';

export interface StartedImport {
  /** The job as created (running). */
  job: ImportJob;
  /** Settles when the import has finished: the final job, or a platform error (5xx). */
  done: Promise<ImportJob>;
}

/**
 * Imports run in two steps, so that a slow import never holds an idle HTTP
 * connection (which a proxy would time out, cutting the upload): the upload is
 * first spooled to a temporary file as fast as it arrives (capped at
 * `maxBytes`, 413 beyond), then imported from that file in the background
 * while the job shows progress. Memory stays bounded either way.
 */
export class ImportRunner {
  private readonly running = new Set<Promise<unknown>>();
  private readonly jobsFinished?: Counter<'entity' | 'status'>;
  private readonly rowsWritten?: Counter<'entity' | 'result'>;

  constructor(
    private readonly tenants: TenantPoolCache,
    private readonly logger: Logger,
    metrics?: MetricsRegistry,
    private readonly spoolDir: string = tmpdir(),
  ) {
    if (metrics) {
      this.jobsFinished = counter(metrics, 'import_jobs_total', 'Import jobs finished, by entity and final status', ['entity', 'status']);
      this.rowsWritten = counter(metrics, 'import_rows_total', 'Imported rows by entity and result (inserted, updated, failed)', ['entity', 'result']);
    }
    void this.sweepAbandonedUploads();
  }

  private count(job: ImportJob): void {
    this.jobsFinished?.inc({ entity: job.entity, status: job.status });
    this.rowsWritten?.inc({ entity: job.entity, result: 'inserted' }, job.rowsInserted);
    this.rowsWritten?.inc({ entity: job.entity, result: 'updated' }, job.rowsUpdated);
    this.rowsWritten?.inc({ entity: job.entity, result: 'failed' }, job.rowsFailed);
  }

  /**
   * Uploads left by a process that was killed mid-import are removed once they
   * are a day old. Other processes (the CRM and the client service share the
   * spool directory) add and remove their uploads meanwhile: one gone between
   * the listing and its stat is skipped, not the end of the sweep.
   */
  private async sweepAbandonedUploads(): Promise<void> {
    const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
    let names: string[];
    try {
      names = await readdir(this.spoolDir);
    } catch (err) {
      this.logger.warn('could not sweep abandoned import uploads', { err });
      return;
    }
    for (const name of names) {
      if (!name.startsWith(SPOOL_PREFIX)) continue;
      const file = path.join(this.spoolDir, name);
      const modified = await stat(file).then(
        (stats) => stats.mtimeMs,
        () => undefined,
      );
      if (modified !== undefined && modified < dayAgo) await rm(file, { force: true });
    }
  }

  async start(actor: Actor, upload: Readable, options: ImportOptions, write: ImportWriter): Promise<StartedImport> {
    const job = await this.tenants.withConnection(actor.tenantId, (db) =>
      insertImportJob(db, { entity: options.entity, format: options.format, atomic: options.atomic, createdBy: actor.userId }),
    );
    const file = path.join(this.spoolDir, `${SPOOL_PREFIX}${job.id}`);
    try {
      await pipeline(upload, byteLimit(options.maxBytes), createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
      await rm(file, { force: true });
      const failure = err instanceof AppError ? err.message : 'the upload was interrupted';
      await this.tenants.withConnection(actor.tenantId, (db) => recordProgress(db, job.id, noProgress(), { status: 'failed', failure }));
      throw err instanceof AppError ? err : new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The upload was interrupted');
    }
    // The upload leaves the directory as soon as it is open for reading (the open file stays readable), so a
    // finished job never has one left, and a process killed mid-import leaves none; rm after is the fallback
    // for a stream that failed to open.
    const spooled = createReadStream(file);
    spooled.once('open', () => void rm(file, { force: true }));
    const done = runImport(this.tenants, actor, job, spooled, options, write).finally(() => rm(file, { force: true }));
    const tracked = done.then(
      (finished) => this.count(finished),
      (err: unknown) => {
        this.jobsFinished?.inc({ entity: options.entity, status: 'failed' });
        this.logger.error('import failed', { err, jobId: job.id, tenantId: actor.tenantId });
      },
    );
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
    return { job, done };
  }

  /** Waits for running imports (on shutdown), up to `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running.size === 0) return;
    this.logger.info('waiting for running imports', { count: this.running.size });
    await within(Promise.allSettled([...this.running]), timeoutMs);
  }
}
