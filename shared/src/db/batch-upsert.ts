import type { PoolClient } from 'pg';
import { ConflictError, isRowDataError } from '../errors';
import type { Queryable } from './pool';

/** One row of an uploaded file, kept with its line for error reports. */
export interface FileRow {
  line: number;
}

/** Why one row of a file was not written. */
export interface RowError {
  line: number;
  field?: string;
  message: string;
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
}

export interface BatchOutcome extends UpsertCounts {
  /** Rows the database refused, one error each (the other rows were written). */
  errors: RowError[];
}

/**
 * Collects rows into batches in which no record appears twice: one
 * `INSERT … ON CONFLICT DO UPDATE` may not touch a row twice, and a later
 * line of a file must see the earlier one written.
 */
export class RowBatcher<Row> {
  private batch: Row[] = [];
  private identities = new Set<string>();

  constructor(
    private readonly size: number,
    /** The record a row writes (e.g. `x:<external id>`), when it can be matched at all. */
    private readonly identityOf: (row: Row) => string | undefined,
  ) {}

  /** Adds a row; returns a batch that must be written now, if any (rows always come out in file order). */
  add(row: Row): Row[] | undefined {
    const identity = this.identityOf(row);
    let ready: Row[] | undefined;
    if (identity !== undefined && this.identities.has(identity)) ready = this.take();
    this.batch.push(row);
    if (identity !== undefined) this.identities.add(identity);
    if (!ready && this.batch.length >= this.size) ready = this.take();
    return ready;
  }

  /** The rows collected so far (possibly none), leaving the batcher empty. */
  take(): Row[] {
    const batch = this.batch;
    this.batch = [];
    this.identities = new Set();
    return batch;
  }

  /** Splits rows into batches in order, as `add` would. */
  static split<Row>(rows: Row[], size: number, identityOf: (row: Row) => string | undefined): Row[][] {
    const batcher = new RowBatcher(size, identityOf);
    const batches = rows.map((row) => batcher.add(row)).filter((batch): batch is Row[] => Boolean(batch?.length));
    const rest = batcher.take();
    return rest.length ? [...batches, rest] : batches;
  }
}

/** An imported row finds the live record it updates by external id, else by email; without either it is new. */
export type MatchKey = 'externalId' | 'email' | 'none';

export interface MatchableRow {
  externalId: string | null;
  email: string | null;
}

export const matchKeyOf = (row: MatchableRow): MatchKey => (row.externalId ? 'externalId' : row.email ? 'email' : 'none');

/** The record a row writes (for RowBatcher), when it can be matched at all. */
export const matchIdentity = (row: MatchableRow): string | undefined =>
  row.externalId ? `x:${row.externalId}` : row.email ? `e:${row.email.toLowerCase()}` : undefined;

/**
 * Upserts rows (no record twice) with one statement per match key, since each
 * key needs its own ON CONFLICT target; returns the summed counts.
 */
export async function upsertByMatchKey<Row extends MatchableRow>(
  rows: Row[],
  upsertGroup: (key: MatchKey, group: Row[]) => Promise<UpsertCounts>,
): Promise<UpsertCounts> {
  const groups = new Map<MatchKey, Row[]>();
  for (const row of rows) groups.set(matchKeyOf(row), [...(groups.get(matchKeyOf(row)) ?? []), row]);
  const counts: UpsertCounts = { inserted: 0, updated: 0 };
  for (const [key, group] of groups) {
    const written = await upsertGroup(key, group);
    counts.inserted += written.inserted;
    counts.updated += written.updated;
  }
  return counts;
}

/** Runs `fn` so that its failure undoes only its own work, not the surrounding transaction. */
export async function withSavepoint<T>(tx: PoolClient, fn: () => Promise<T>): Promise<T> {
  await tx.query('SAVEPOINT batch_rows');
  try {
    const result = await fn();
    await tx.query('RELEASE SAVEPOINT batch_rows');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT batch_rows');
    throw err;
  }
}

/** A unique violation: the row would give a second live record the same key. */
const isUniqueViolation = (err: unknown) => err instanceof ConflictError;

/**
 * Writes a batch inside `tx` with one call of `write`; if the database refuses
 * it, writes row by row (each under a savepoint) so that only the refused rows
 * fail, each reported (a clash names the `subject`'s match keys). An all-or-nothing import rolls
 * back `tx` itself when any row failed, so it can still say which ones did.
 * Errors that are not about a row's data (a lost connection, a timeout) are
 * thrown.
 */
export async function writeBatchIsolatingRows<Row extends FileRow>(
  tx: PoolClient,
  batch: Row[],
  write: (rows: Row[]) => Promise<UpsertCounts>,
  /** What a row is, for messages: 'client', 'contact'. */
  subject: string,
): Promise<BatchOutcome> {
  try {
    return { ...(await withSavepoint(tx, () => write(batch))), errors: [] };
  } catch (err) {
    if (!isRowDataError(err)) throw err;
  }
  const outcome: BatchOutcome = { inserted: 0, updated: 0, errors: [] };
  for (const row of batch) {
    try {
      const counts = await withSavepoint(tx, () => write([row]));
      outcome.inserted += counts.inserted;
      outcome.updated += counts.updated;
    } catch (err) {
      if (!isRowDataError(err)) throw err;
      outcome.errors.push({
        line: row.line,
        message: isUniqueViolation(err) ? `another ${subject} already has this email or external id` : 'rejected by the database',
      });
    }
  }
  return outcome;
}

/** A table whose live rows are matched by `external_id`, else `lower(email)` (both unique among live rows), and versioned. */
export interface UpsertTable {
  name: string;
  /** Every column an imported record writes, with its SQL type (the record's keys are these names). */
  columns: Record<string, string>;
  /** Columns a match keeps as they were (e.g. who created the row). */
  keepOnUpdate: string[];
}

/**
 * Inserts `records` (one JSON parameter, so a batch is one statement), or, for
 * those matching a live row by `key`, updates it and bumps its version.
 */
export async function upsertRecords(db: Queryable, table: UpsertTable, key: MatchKey, records: Array<Record<string, unknown>>): Promise<UpsertCounts> {
  const columns = Object.keys(table.columns);
  const updates = columns.filter((c) => !table.keepOnUpdate.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  const target = {
    externalId: '(external_id) WHERE external_id IS NOT NULL AND deleted_at IS NULL',
    email: '(lower(email)) WHERE email IS NOT NULL AND deleted_at IS NULL',
  };
  const onConflict = key === 'none' ? '' : `ON CONFLICT ${target[key]} DO UPDATE SET ${[...updates, `version = ${table.name}.version + 1`].join(', ')}`;
  const { rows } = await db.query<{ inserted: boolean }>(
    `INSERT INTO ${table.name} (${columns.join(', ')})
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(${columns.map((c) => `${c} ${table.columns[c]}`).join(', ')})
     ${onConflict}
     RETURNING (xmax = 0) AS inserted`,
    [JSON.stringify(records)],
  );
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, updated: rows.length - inserted };
}
