import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { AppError, ErrorCode } from '@codex/shared';
import type pg from 'pg';
import QueryStream from 'pg-query-stream';

/**
 * A tenant archive: one gzip-compressed file of JSON lines, holding a tenant database's every row.
 *
 *   {"$archive":"codex-metatron-tenant","version":1,"tenant":{…},"schema":{"migrations":[…]},"exportedAt":…}
 *   {"$table":"clients","columns":["id","name",…]}
 *   {"id":"…","name":"…",…}                       one line per row, as PostgreSQL's row_to_json wrote it
 *   {"$end":"clients","rows":1000000}
 *   …                                              every table, parents before the tables that refer to them
 *   {"$trailer":{"tables":{"clients":1000000,…},"rows":…}}
 *
 * Why JSON lines and not pg_dump's custom format: no PostgreSQL client binaries of the server's exact
 * version are needed on the admin host (embedded or remote servers alike); the archive can be checked
 * whole (format, schema, counts, the trailer that proves it was not cut short) before anything is
 * created; rows go back in through PostgreSQL's own json_populate_recordset, so every type round-trips
 * exactly (numerics, timestamps, jsonb, arrays, bytea) without a type map here; and other tools read it.
 * pg_dump would also carry roles and ownership that do not fit a tenant with a new id.
 */
export const ARCHIVE_FORMAT = 'codex-metatron-tenant';
export const ARCHIVE_VERSION = 1;
export const ARCHIVE_MEDIA_TYPE = 'application/gzip';

/** The longest line an archive may hold (one row). */
const MAX_LINE_CHARS = 64 * 1024 * 1024;
/** Rows sent to PostgreSQL per INSERT when loading. */
const LOAD_BATCH_ROWS = 2_000;
/** Sessions do not travel to an imported copy: its users sign in again. */
export const TABLES_NOT_IMPORTED: ReadonlySet<string> = new Set(['refresh_tokens']);

export interface TableShape {
  name: string;
  /** Columns a row carries: every column but generated ones, in table order. */
  columns: string[];
  /** Tables this one refers to (foreign keys), itself excluded. */
  parents: string[];
}

export interface ArchiveHeader {
  tenant: { id: string; slug: string; name: string; plan: string };
  migrations: { name: string; checksum: string }[];
  exportedAt: string;
}

/** The tables of a tenant database, parents before children (then by name), without the migrations' own table. */
export async function tenantTables(db: pg.ClientBase): Promise<TableShape[]> {
  const { rows } = await db.query<TableShape>(`
    SELECT c.relname AS name,
           array(SELECT a.attname::text FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                  ORDER BY a.attnum) AS columns,
           array(SELECT DISTINCT f.relname::text FROM pg_constraint k JOIN pg_class f ON f.oid = k.confrelid
                  WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid <> c.oid) AS parents
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations'
     ORDER BY c.relname`);
  const ordered: TableShape[] = [];
  const placed = new Set<string>();
  while (ordered.length < rows.length) {
    const next = rows.find((table) => !placed.has(table.name) && table.parents.every((parent) => placed.has(parent)));
    if (!next) throw new Error('tenant tables refer to each other in a cycle');
    ordered.push(next);
    placed.add(next.name);
  }
  return ordered;
}

export async function appliedMigrations(db: pg.ClientBase): Promise<ArchiveHeader['migrations']> {
  return (await db.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations ORDER BY name')).rows;
}

/**
 * The archive of the tenant database behind `db`, line by line (without newlines), read in the
 * REPEATABLE READ transaction the caller holds open on `db` (so it is one consistent moment); rows come
 * through a cursor, so memory stays flat whatever the size. `counts` is filled in as tables end.
 */
export async function* tenantArchiveLines(db: pg.ClientBase, tenant: ArchiveHeader['tenant'], counts: Record<string, number> = {}): AsyncGenerator<string> {
  yield JSON.stringify({
    $archive: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    tenant,
    schema: { migrations: await appliedMigrations(db) },
    exportedAt: new Date(),
  });
  for (const table of await tenantTables(db)) {
    yield JSON.stringify({ $table: table.name, columns: table.columns });
    const columns = table.columns.map((column) => db.escapeIdentifier(column)).join(', ');
    const cursor = db.query(
      new QueryStream(`SELECT row_to_json(t)::text AS line FROM (SELECT ${columns} FROM ${db.escapeIdentifier(table.name)}) t`, [], { batchSize: 1_000 }),
    );
    let rows = 0;
    for await (const row of cursor as AsyncIterable<{ line: string }>) {
      rows += 1;
      yield row.line;
    }
    counts[table.name] = rows;
    yield JSON.stringify({ $end: table.name, rows });
  }
  yield JSON.stringify({ $trailer: { tables: counts, rows: Object.values(counts).reduce((sum, n) => sum + n, 0) } });
}

/** Lines joined with newlines into chunks of about 256 KiB (one write per row would cost more than the row). */
async function* inChunks(lines: AsyncIterable<string>): AsyncGenerator<string> {
  let chunk = '';
  for await (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** Runs `fn` in a REPEATABLE READ READ ONLY transaction on `db`, without a statement timeout (a copy takes long). */
export async function inSnapshot<T>(db: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await db.query('SET LOCAL statement_timeout = 0');
    const result = await fn();
    await db.query('COMMIT');
    return result;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Streams the tenant database behind `db` into `out` as a gzip archive, from one snapshot; answers each table's row count. */
export async function writeTenantArchive(db: pg.ClientBase, tenant: ArchiveHeader['tenant'], out: Writable): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  await inSnapshot(db, () => pipeline(Readable.from(inChunks(tenantArchiveLines(db, tenant, counts))), createGzip(), out));
  return counts;
}

/** One line of an archive, numbered from 1. */
interface ArchiveLine {
  line: number;
  text: string;
}

async function* archiveLines(file: string): AsyncGenerator<ArchiveLine> {
  const gunzip = createGunzip();
  const source = createReadStream(file);
  source.on('error', (err) => gunzip.destroy(err));
  const reader = createInterface({ input: source.pipe(gunzip), crlfDelay: Infinity });
  let line = 0;
  for await (const text of reader) {
    line += 1;
    if (text.length > MAX_LINE_CHARS) throw invalid(line, `the line is longer than ${MAX_LINE_CHARS} characters`);
    yield { line, text };
  }
}

/** An archive file's lines as text. */
export async function* archiveTextLines(file: string): AsyncGenerator<string> {
  for await (const { text } of archiveLines(file)) yield text;
}

const invalid = (line: number, message: string) =>
  new AppError(ErrorCode.ARCHIVE_INVALID, 400, `The archive is not a complete tenant archive this platform can import: line ${line}: ${message}`, [
    { path: `archive.line.${line}`, message },
  ]);

function parseLine({ line, text }: ArchiveLine): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(line, 'not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(line, 'each line must be a JSON object');
  return value as Record<string, unknown>;
}

/** Control lines ($table, $end, $trailer) start with {"$; a row starts with a column name, and no column's name starts with $. */
const isControlLine = (text: string) => text.startsWith('{"$');

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, i) => item === b[i]);

export interface ArchiveManifest {
  header: ArchiveHeader;
  tables: { name: string; columns: string[]; rows: number }[];
  rows: number;
}

/**
 * Reads the whole archive once and answers what it holds, or throws 400 ARCHIVE_INVALID naming the
 * first bad line: not gzip or damaged, not an archive, made with another tenant schema than this
 * platform's (`expected`), a table or column this platform does not have, a row that is not an
 * object or names unknown columns, counts that disagree, or no trailer (cut short). Nothing is created
 * before this has passed.
 */
export async function inspectArchive(file: string, expected: { migrations: ArchiveHeader['migrations']; tables: TableShape[] }): Promise<ArchiveManifest> {
  const known = new Map(expected.tables.map((table) => [table.name, table]));
  const tables: ArchiveManifest['tables'] = [];
  let header: ArchiveHeader | undefined;
  let current: { name: string; columns: Set<string>; rows: number } | undefined;
  let trailer: { tables?: unknown } | undefined;
  let lastLine = 0;
  try {
    for await (const entry of archiveLines(file)) {
      lastLine = entry.line;
      if (trailer) throw invalid(entry.line, 'nothing may follow the trailer');
      const value = parseLine(entry);
      if (!header) {
        header = readHeader(entry.line, value, expected.migrations);
      } else if (!isControlLine(entry.text)) {
        if (!current) throw invalid(entry.line, 'a row outside any table');
        for (const key of Object.keys(value)) if (!current.columns.has(key)) throw invalid(entry.line, `${current.name} has no column ${JSON.stringify(key)}`);
        current.rows += 1;
      } else if ('$table' in value) {
        if (current) throw invalid(entry.line, `${current.name} has no $end line`);
        const table = known.get(String(value.$table));
        if (!table) throw invalid(entry.line, `this platform has no table ${JSON.stringify(value.$table)}`);
        if (tables.some((seen) => seen.name === table.name)) throw invalid(entry.line, `${table.name} appears twice`);
        if (!Array.isArray(value.columns) || !sameList(value.columns as string[], table.columns))
          throw invalid(entry.line, `the columns of ${table.name} differ from this platform's`);
        current = { name: table.name, columns: new Set(table.columns), rows: 0 };
      } else if ('$end' in value) {
        if (!current || value.$end !== current.name) throw invalid(entry.line, 'an $end line without its $table');
        if (value.rows !== current.rows) throw invalid(entry.line, `${current.name} says ${String(value.rows)} rows, the archive holds ${current.rows}`);
        tables.push({ name: current.name, columns: [...current.columns], rows: current.rows });
        current = undefined;
      } else if ('$trailer' in value) {
        if (current) throw invalid(entry.line, `${current.name} has no $end line`);
        const found = (value.$trailer ?? {}) as { tables?: unknown };
        trailer = found;
        const counted = Object.fromEntries(tables.map((table) => [table.name, table.rows]));
        if (JSON.stringify(found.tables) !== JSON.stringify(counted)) throw invalid(entry.line, 'the trailer disagrees with the tables');
      } else {
        throw invalid(entry.line, 'an unknown control line');
      }
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    // zlib's complaint (not gzip, damaged, cut short) says nothing a caller can act on beyond this.
    throw invalid(lastLine + 1, 'not a gzip file, or damaged');
  }
  if (!header) throw invalid(1, 'the archive is empty');
  if (!trailer) throw invalid(lastLine, 'the archive ends without its trailer (cut short?)');
  const missing = expected.tables.filter((table) => !tables.some((seen) => seen.name === table.name)).map((table) => table.name);
  if (missing.length) throw invalid(lastLine, `tables missing: ${missing.join(', ')}`);
  return { header, tables, rows: tables.reduce((sum, table) => sum + table.rows, 0) };
}

function readHeader(line: number, value: Record<string, unknown>, migrations: ArchiveHeader['migrations']): ArchiveHeader {
  if (value.$archive !== ARCHIVE_FORMAT) throw invalid(line, 'not a tenant archive');
  if (value.version !== ARCHIVE_VERSION) throw invalid(line, `archive version ${String(value.version)}; this platform reads version ${ARCHIVE_VERSION}`);
  const tenant = value.tenant as ArchiveHeader['tenant'] | undefined;
  if (typeof tenant?.slug !== 'string' || typeof tenant.name !== 'string') throw invalid(line, 'the header names no tenant');
  const theirs = ((value.schema as { migrations?: unknown } | undefined)?.migrations ?? []) as ArchiveHeader['migrations'];
  const key = (migration: { name: string; checksum: string }) => `${migration.name}:${migration.checksum}`;
  if (!Array.isArray(theirs) || !sameList(theirs.map(key), migrations.map(key))) {
    const ours = new Set(migrations.map(key));
    const differing = theirs.filter((migration) => !ours.has(key(migration))).map((migration) => migration.name);
    throw invalid(
      line,
      `made with another tenant schema than this platform's${differing.length ? ` (differs at ${differing.slice(0, 3).join(', ')})` : ' (fewer migrations)'}; import it into a platform of the same version`,
    );
  }
  return { tenant, migrations: theirs, exportedAt: String(value.exportedAt) };
}

/** The rows a load writes: all but the tables that do not travel. */
export const rowsToLoad = (manifest: ArchiveManifest): number =>
  manifest.tables.filter((table) => !TABLES_NOT_IMPORTED.has(table.name)).reduce((sum, table) => sum + table.rows, 0);

/**
 * Loads archive lines (a file's through archiveTextLines, or a live export's through a pipe) into an
 * empty, migrated tenant database, in one transaction: all of it or none. Columns come from each
 * `$table` line; each table's count and the trailer are checked again here, so a stream cut short never
 * commits. Identity columns take the archive's values and every sequence continues after them.
 * `onProgress` hears the rows loaded so far.
 */
export async function loadTenantArchive(
  db: pg.ClientBase,
  lines: AsyncIterable<string>,
  options: { skipTables?: ReadonlySet<string>; onProgress?: (rows: number) => void } = {},
): Promise<number> {
  let loaded = 0;
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL statement_timeout = 0`);
    let table: { name: string; columns: string[]; rows: number; skipped: boolean } | undefined;
    let batch: string[] = [];
    let headerSeen = false;
    let trailerSeen = false;
    const flush = async () => {
      if (!table || batch.length === 0) return;
      const name = db.escapeIdentifier(table.name);
      const columns = table.columns.map((column) => db.escapeIdentifier(column)).join(', ');
      await db.query(`INSERT INTO ${name} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM json_populate_recordset(NULL::${name}, $1::json)`, [
        `[${batch.join(',')}]`,
      ]);
      loaded += batch.length;
      batch = [];
      options.onProgress?.(loaded);
    };
    for await (const text of lines) {
      if (!headerSeen) {
        headerSeen = true;
        continue;
      }
      if (!isControlLine(text)) {
        if (!table) throw new Error('archive row outside any table');
        table.rows += 1;
        if (table.skipped) continue;
        batch.push(text);
        if (batch.length >= LOAD_BATCH_ROWS) await flush();
        continue;
      }
      await flush();
      const control = JSON.parse(text) as { $table?: string; columns?: string[]; $end?: string; rows?: number; $trailer?: unknown };
      if (control.$table) {
        table = { name: control.$table, columns: control.columns ?? [], rows: 0, skipped: options.skipTables?.has(control.$table) ?? false };
      } else if (control.$end) {
        if (control.$end !== table?.name || control.rows !== table.rows) throw new Error(`archive table ${control.$end} is incomplete`);
        table = undefined;
      } else if (control.$trailer) {
        trailerSeen = true;
      }
    }
    if (!trailerSeen || table) throw new Error('the archive ended before its trailer');
    await continueSequences(db);
    await db.query('COMMIT');
    return loaded;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Every sequence behind a serial or identity column continues after the largest value now in its column. */
async function continueSequences(db: pg.ClientBase): Promise<void> {
  const { rows } = await db.query<{ table_name: string; column_name: string; sequence: string }>(`
    SELECT c.relname AS table_name, a.attname AS column_name, pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS sequence
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL`);
  for (const row of rows) {
    const column = db.escapeIdentifier(row.column_name);
    await db.query(`SELECT setval($1, coalesce(max(${column}), 1), max(${column}) IS NOT NULL) FROM ${db.escapeIdentifier(row.table_name)}`, [row.sequence]);
  }
}
