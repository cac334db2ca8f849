import pg from 'pg';
import { AppError, createPool, withTransaction } from '../src';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../../test/support/database';

/** The data-access edge: whatever a pooled connection fails with leaves as an AppError, and no failure crashes the process. */
describe('database errors are translated once, at the data-access edge', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase('empty');
    pool = createPool(db.url, { max: 2 });
    await pool.query('CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL, at timestamptz)');
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it.each([
    ['a unique violation', 'INSERT INTO things VALUES (1, $1), (1, $1)', ['x'], 409, 'CONFLICT'],
    ['a NUL character in text', 'INSERT INTO things VALUES (2, $1)', ['bad\u0000name'], 400, 'VALIDATION_FAILED'],
    ['a date PostgreSQL cannot hold', 'INSERT INTO things VALUES (3, $1, $2)', ['x', '-271821-04-20T00:00:00.000Z'], 400, 'VALIDATION_FAILED'],
    ['a missing value', 'INSERT INTO things VALUES (4, NULL)', [], 400, 'VALIDATION_FAILED'],
  ])('when a query fails with %s, then pool.query rejects with %s %s', async (_case, sql, values, status, code) => {
    const err = await pool.query(sql, values).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status, code });
  });

  it('when a statement inside a transaction fails, then the transaction rejects with the translated error and nothing is written', async () => {
    const err = await withTransaction(pool, async (tx) => {
      await tx.query(`INSERT INTO things VALUES (10, 'kept?')`);
      await tx.query(`INSERT INTO things VALUES (10, 'clash')`);
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 409 });
    expect((await pool.query('SELECT count(*)::int AS n FROM things WHERE id = 10')).rows[0].n).toBe(0);
  });

  it('when the server ends a checked-out connection, then the process lives, the next query on it is 503, and the pool recovers', async () => {
    const client = await pool.connect();
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    const admin = new pg.Client({ connectionString: testServerUrl() });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    await admin.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(client.query('SELECT 1')).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', headers: { 'Retry-After': '1' } });
    client.release(true);
    expect((await pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  });

  it('when the server cannot be reached, then connecting is 503', async () => {
    const nowhere = createPool('postgres://postgres@127.0.0.1:9/none', { max: 1, connectionTimeoutMs: 1_000 });
    try {
      await expect(nowhere.query('SELECT 1')).rejects.toMatchObject({ status: 503 });
    } finally {
      await nowhere.end();
    }
  });
});
