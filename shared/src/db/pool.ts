import pg from 'pg';
import type { Logger } from '../logger';
import { translatePgError, ValidationError } from '../errors';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** Queries running longer than this are cancelled by the server (57014 → 503). */
  statementTimeoutMs?: number;
  idleTimeoutMs?: number;
  connectionTimeoutMs?: number;
  logger?: Logger;
}

type Callback = (err: Error | undefined, ...rest: unknown[]) => void;

/** The callback of a callback-style call, with its error translated; or undefined for a promise-style call. */
function translatingCallback(args: unknown[]): boolean {
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback !== 'function') return false;
  args[last] = (err: Error | undefined, ...rest: unknown[]) => (callback as Callback)(err && (translatePgError(err) as Error), ...rest);
  return true;
}

/**
 * The data-access edge: every connection of our pools is one of these. Its
 * errors leave as AppErrors (translatePgError: unique violation → 409, bad
 * data → 400, a lost or refused connection → 503), whether a query is
 * awaited or called back (pg's pool does the latter), so no layer above ever
 * sees a driver error. And it always has an 'error' listener: a connection
 * the server cuts while it is checked out must fail its next query, never
 * crash the process with an unhandled 'error' event.
 */
function edgeClient(logger: Logger | undefined): typeof pg.Client {
  return class EdgeClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.on('error', (err) => logger?.warn('database connection lost', { code: (err as { code?: string }).code, message: err.message }));
    }

    // pg's overloads (promise, callback, submittable) are all passed through; only errors change.
    override query(...args: unknown[]): any {
      if (translatingCallback(args)) return (super.query as (...a: unknown[]) => unknown)(...args);
      const result = (super.query as (...a: unknown[]) => unknown)(...args) as Promise<unknown> | undefined;
      return typeof result?.then === 'function'
        ? result.catch((err: unknown) => {
            throw translatePgError(err);
          })
        : result;
    }

    override connect(...args: unknown[]): any {
      if (translatingCallback(args)) return (super.connect as (...a: unknown[]) => unknown)(...args);
      return (super.connect as () => Promise<unknown>)().catch((err: unknown) => {
        throw translatePgError(err);
      });
    }
  };
}

/** A pg pool with sane limits, a statement timeout, errors translated at the edge, and lost connections logged instead of crashing the process. */
export function createPool(config: string | pg.PoolConfig, options: PoolOptions = {}): pg.Pool {
  const base: pg.PoolConfig = typeof config === 'string' ? { connectionString: config } : config;
  const pool = new pg.Pool({
    ...base,
    Client: edgeClient(options.logger),
    max: options.max ?? base.max ?? 10,
    idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    application_name: options.applicationName ?? base.application_name,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
  });
  pool.on('error', (err) => options.logger?.warn('idle database client error', { err }));
  return pool;
}

/** Runs `fn` in a transaction on a checked-out client: COMMIT when it resolves, ROLLBACK when it throws. */
export async function inTransaction<T>(client: pg.PoolClient, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Runs `fn` in a transaction on one client of the pool. */
export async function withTransaction<T>(pool: pg.Pool, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, fn);
  } finally {
    client.release();
  }
}

const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Database and role names are never built from raw input: they must be short
 * lower-case identifiers. Throws ValidationError otherwise.
 */
export function assertSafeIdentifier(name: string): string {
  if (!SAFE_IDENTIFIER.test(name)) throw new ValidationError(`Unsafe SQL identifier: ${JSON.stringify(name)}`);
  return name;
}

/** The same server URL pointing at another database. */
export function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The database a connection URL names (`postgres` when it names none). */
export function databaseName(connectionString: string): string {
  const name = decodeURIComponent(new URL(connectionString).pathname.replace(/^\//, ''));
  return name || 'postgres';
}

/** Creates the database named in `connectionString` if the server does not have it yet. */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const name = assertSafeIdentifier(databaseName(connectionString));
  const admin = createClient({ connectionString: withDatabase(connectionString, 'postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    } catch (err) {
      // Another process created it between our check and our CREATE.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await admin.end();
  }
}

/** Liveness of a pool for /health: one round trip. */
export async function pingDatabase(pool: Queryable): Promise<void> {
  await pool.query('SELECT 1');
}

/**
 * `UPDATE <table> SET <changed columns>, version = version + 1 WHERE id = $1
 * RETURNING <returning>` for the fields present (not undefined) in `changes`.
 * Table and column names come from the caller's constant maps, never input.
 */
export function versionedUpdate<K extends string>(
  table: string,
  columns: Record<K, string>,
  id: string,
  changes: Partial<Record<K, unknown>>,
  returning: string,
): { text: string; values: unknown[] } {
  const keys = (Object.keys(changes) as K[]).filter((key) => changes[key] !== undefined && key in columns);
  const sets = keys.map((key, index) => `${columns[key]} = $${index + 2}`);
  return {
    text: `UPDATE ${table} SET ${[...sets, 'version = version + 1'].join(', ')} WHERE id = $1 RETURNING ${returning}`,
    values: [id, ...keys.map((key) => changes[key])],
  };
}

/** One connection outside any pool (administration: migrations, provisioning), with the same error edge as pooled ones. */
export function createClient(config: string | pg.ClientConfig, logger?: Logger): pg.Client {
  return new (edgeClient(logger))(config);
}

/** Runs `fn` on a connection of its own (createClient), closed afterwards whatever happens. */
export async function withClient<T>(config: string | pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = createClient(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
