import type { RowError } from '../db/batch-upsert';
import type { Queryable } from '../db/pool';

export const IMPORT_ENTITIES = ['clients', 'contacts'] as const;
export type ImportEntity = (typeof IMPORT_ENTITIES)[number];

export interface ImportJob {
  id: string;
  entity: ImportEntity;
  format: 'csv' | 'jsonl';
  atomic: boolean;
  status: 'running' | 'completed' | 'failed';
  rowsRead: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsFailed: number;
  errors: RowError[];
  failure: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export type ImportJobSummary = Omit<ImportJob, 'errors'>;

interface ImportJobSummaryRow {
  id: string;
  entity: ImportEntity;
  format: 'csv' | 'jsonl';
  atomic: boolean;
  status: ImportJob['status'];
  rows_read: number;
  rows_inserted: number;
  rows_updated: number;
  rows_failed: number;
  failure: string | null;
  created_at: Date;
  finished_at: Date | null;
  cut_off: boolean;
}

interface ImportJobRow extends ImportJobSummaryRow {
  errors: RowError[];
}

/**
 * A running job saves progress after every batch; one that has not moved for
 * this long was cut off (its service was killed mid-import) and reads as failed.
 */
const CUT_OFF = `(status = 'running' AND updated_at < now() - interval '10 minutes') AS cut_off`;
const SUMMARY_COLUMNS = `id, entity, format, atomic, status, rows_read, rows_inserted, rows_updated, rows_failed, failure, created_at, finished_at, ${CUT_OFF}`;
const COLUMNS = `${SUMMARY_COLUMNS}, errors`;

const toSummary = (row: ImportJobSummaryRow): ImportJobSummary => ({
  id: row.id,
  entity: row.entity,
  format: row.format,
  atomic: row.atomic,
  status: row.cut_off ? 'failed' : row.status,
  rowsRead: row.rows_read,
  rowsInserted: row.rows_inserted,
  rowsUpdated: row.rows_updated,
  rowsFailed: row.rows_failed,
  failure: row.cut_off ? 'interrupted: the import stopped before it finished' : row.failure,
  createdAt: row.created_at,
  finishedAt: row.finished_at,
});

const toJob = (row: ImportJobRow): ImportJob => ({ ...toSummary(row), errors: row.errors });

export async function insertImportJob(
  db: Queryable,
  job: { entity: ImportEntity; format: ImportJob['format']; atomic: boolean; createdBy: string },
): Promise<ImportJob> {
  const { rows } = await db.query<ImportJobRow>(`INSERT INTO import_jobs (entity, format, atomic, created_by) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`, [
    job.entity,
    job.format,
    job.atomic,
    job.createdBy,
  ]);
  return toJob(rows[0]!);
}

export interface JobProgress {
  rowsRead: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsFailed: number;
  errors: RowError[];
}

export async function recordProgress(
  db: Queryable,
  id: string,
  progress: JobProgress,
  finish?: { status: 'completed' | 'failed'; failure?: string },
): Promise<ImportJob> {
  const { rows } = await db.query<ImportJobRow>(
    `UPDATE import_jobs SET rows_read = $2, rows_inserted = $3, rows_updated = $4, rows_failed = $5, errors = $6,
            status = COALESCE($7, status), failure = $8, finished_at = CASE WHEN $7 IS NULL THEN NULL ELSE now() END
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [
      id,
      progress.rowsRead,
      progress.rowsInserted,
      progress.rowsUpdated,
      progress.rowsFailed,
      JSON.stringify(progress.errors),
      finish?.status ?? null,
      finish?.failure ?? null,
    ],
  );
  return toJob(rows[0]!);
}

/** One job of `entity` (each service sees only the jobs of the entities it owns). */
export async function findImportJob(db: Queryable, entity: ImportEntity, id: string): Promise<ImportJob | undefined> {
  const { rows } = await db.query<ImportJobRow>(`SELECT ${COLUMNS} FROM import_jobs WHERE id = $1 AND entity = $2`, [id, entity]);
  return rows[0] && toJob(rows[0]);
}

/** The newest jobs first, without their row errors (GET one job for those). */
export async function listImportJobs(db: Queryable, entity: ImportEntity, limit: number): Promise<ImportJobSummary[]> {
  const { rows } = await db.query<ImportJobSummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM import_jobs WHERE entity = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
    [entity, limit],
  );
  return rows.map(toSummary);
}
