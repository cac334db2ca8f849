import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from '../logger';
import { createClient } from './pool';

/** Files are `NNNN_kebab-name.sql`; applied in name order. */
const MIGRATION_FILE = /^\d{4}_[a-z0-9-]+\.sql$/;

/** A first line of this marker runs the file outside a transaction (e.g. CREATE INDEX CONCURRENTLY). */
const NO_TRANSACTION_MARKER = /^--\s*migrate:no-transaction\b/;

/** Key of the session advisory lock that serialises runners on one database. */
const LOCK_KEY = 7_300_002_024;

export class MigrationError extends Error {
  /** `changed`: a file was edited after it was applied to this database. */
  readonly reason?: 'changed';

  constructor(message: string, options?: { cause?: unknown; reason?: 'changed' }) {
    super(message, options);
    this.reason = options?.reason;
    this.name = 'MigrationError';
  }
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  /** Database to migrate. */
  connectionString: string;
  /** Folder of `.sql` files. */
  directory: string;
  logger?: Logger;
}

export interface MigrateResult {
  applied: string[];
  skipped: number;
}

function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** Reads and checksums the migration files of a folder, in order. */
export async function readMigrations(directory: string): Promise<MigrationFile[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const bad = names.filter((name) => !MIGRATION_FILE.test(name));
  if (bad.length > 0) throw new MigrationError(`Migration file names must look like 0001_create-things.sql: ${bad.join(', ')}`);
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name), 'utf8');
      return { name, sql, checksum: checksumOf(sql) };
    }),
  );
}

/**
 * Applies the pending files of `directory` to one database, each in its own
 * transaction, under an advisory lock so concurrent runners apply each file
 * exactly once. A file whose content changed after it was applied stops the
 * run before anything new is applied.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const files = await readMigrations(options.directory);
  const client = createClient({ connectionString: options.connectionString, application_name: 'codex-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      return await applyPending(client, files, options.logger);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

async function applyPending(client: pg.Client, files: MigrationFile[], logger?: Logger): Promise<MigrateResult> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations');
  const appliedChecksums = new Map(rows.map((row) => [row.name, row.checksum]));
  const known = new Set(files.map((file) => file.name));

  for (const file of files) {
    const recorded = appliedChecksums.get(file.name);
    if (recorded !== undefined && recorded !== file.checksum) {
      throw new MigrationError(
        `Migration ${file.name} was changed after it was applied (checksum ${file.checksum.slice(0, 12)} ≠ recorded ${recorded.slice(0, 12)}); add a new migration instead`,
        { reason: 'changed' },
      );
    }
  }
  const missing = [...appliedChecksums.keys()].filter((name) => !known.has(name));
  if (missing.length > 0) throw new MigrationError(`Applied migrations are missing from the folder: ${missing.join(', ')}`);

  const applied: string[] = [];
  for (const file of files) {
    if (appliedChecksums.has(file.name)) continue;
    const transactional = !NO_TRANSACTION_MARKER.test(file.sql);
    try {
      if (transactional) await client.query('BEGIN');
      await client.query(file.sql);
      await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
      if (transactional) await client.query('COMMIT');
    } catch (err) {
      if (transactional) await client.query('ROLLBACK').catch(() => undefined);
      throw new MigrationError(`Migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
    }
    logger?.info('migration applied', { migration: file.name });
    applied.push(file.name);
  }
  return { applied, skipped: files.length - applied.length };
}
