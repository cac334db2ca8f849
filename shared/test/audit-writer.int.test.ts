import { AuditWriter, createLogger, createMetricsRegistry, createPool, type Pool } from '@codex/shared';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';

/**
 * Stand-alone audit entries never fail their caller (#14): when the log does not take an entry (here the
 * table is really locked by another session, so the insert times out), the entry is kept with its time,
 * retried in order, and counted.
 */
describe('AuditWriter: stand-alone audit entries', () => {
  let db: TestDatabase;
  let pool: Pool;
  let locker: Pool;

  beforeEach(async () => {
    db = await createTestDatabase('master');
    // Inserts give up after 300 ms, so a locked table is a failure the test can wait out.
    pool = createPool(db.url, { max: 2, statementTimeoutMs: 300 });
    locker = createPool(db.url, { max: 1 });
  });
  afterEach(async () => {
    await pool.end();
    await locker.end();
    await db.drop();
  });

  const actions = async () => (await locker.query<{ action: string; occurred_at: Date }>('SELECT action, occurred_at FROM audit_log ORDER BY seq')).rows;

  it('when the log takes entries, then each is written at once', async () => {
    const metrics = createMetricsRegistry('test');
    const writer = new AuditWriter(pool, { logger: createLogger('test', { silent: true }), metrics });
    await writer.append({ actorType: 'system', action: 'one' });
    expect((await actions()).map((row) => row.action)).toEqual(['one']);
    expect(await metrics.getSingleMetricAsString('audit_writes_total')).toContain('audit_writes_total{result="written",service="test"} 1');
  });

  it('when the log does not take them, then append still resolves, the entries are kept in order with their time, and written once it does', async () => {
    const metrics = createMetricsRegistry('test');
    const writer = new AuditWriter(pool, { logger: createLogger('test', { silent: true }), metrics, retryMs: 50 });
    const lock = await locker.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE');
    const before = new Date();
    await writer.append({ actorType: 'system', action: 'first' });
    await writer.append({ actorType: 'system', action: 'second' });
    expect(writer.buffered).toBe(2);
    await lock.query('COMMIT');
    lock.release();

    const started = Date.now();
    while (writer.buffered > 0) {
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const rows = await actions();
    expect(rows.map((row) => row.action)).toEqual(['first', 'second']);
    // Their time is when they happened, not when they were finally written.
    expect(rows[0]!.occurred_at.getTime()).toBeLessThan(before.getTime() + 300);
    const counted = await metrics.getSingleMetricAsString('audit_writes_total');
    expect(counted).toContain('audit_writes_total{result="buffered",service="test"} 2');
    expect(counted).toContain('audit_writes_total{result="written",service="test"} 2');
    await writer.close();
  });

  it('when more are kept than the buffer holds, then the oldest go first and are counted as dropped', async () => {
    const metrics = createMetricsRegistry('test');
    const writer = new AuditWriter(pool, { logger: createLogger('test', { silent: true }), metrics, maxBuffered: 2, retryMs: 60_000 });
    const lock = await locker.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE');
    for (const action of ['a', 'b', 'c']) await writer.append({ actorType: 'system', action });
    await lock.query('COMMIT');
    lock.release();
    await writer.close();
    expect((await actions()).map((row) => row.action)).toEqual(['b', 'c']);
    expect(await metrics.getSingleMetricAsString('audit_writes_total')).toContain('audit_writes_total{result="dropped",service="test"} 1');
  });
});
