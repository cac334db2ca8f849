import { randomUUID } from 'node:crypto';
import { AccessChanges, createPool, recordAccessChange, withTransaction, type AccessChange, type Pool } from '@codex/shared';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';

const subjectOf = (change: AccessChange) => (change.kind === 'admin_sessions_ended' ? change.adminId : change.tenantId);

describe('AccessChanges: suspensions and revocations from any instance', () => {
  let db: TestDatabase;
  let pool: Pool;
  let feed: AccessChanges;
  let seen: AccessChange[];

  beforeEach(async () => {
    db = await createTestDatabase('master');
    pool = createPool(db.url, { max: 4 });
    // A poll interval no test waits for: each test reads when it wants to.
    feed = new AccessChanges(pool, { pollMs: 3_600_000 });
    seen = [];
    feed.onChange((change) => {
      seen.push(change);
    });
    await feed.poll();
  });
  afterEach(async () => {
    feed.close();
    await pool.end();
    await db.drop();
  });

  it('when changes are recorded, then the next read hands each out once, in order', async () => {
    const tenantId = randomUUID();
    const keyId = randomUUID();
    const adminId = randomUUID();
    await recordAccessChange(pool, { kind: 'tenant_suspended', tenantId });
    await recordAccessChange(pool, { kind: 'key_revoked', tenantId, keyId });
    await recordAccessChange(pool, { kind: 'admin_sessions_ended', adminId });
    await feed.poll();
    await feed.poll();
    expect(seen.map((change) => ({ kind: change.kind, subject: subjectOf(change), keyId: 'keyId' in change ? change.keyId : undefined }))).toEqual([
      { kind: 'tenant_suspended', subject: tenantId, keyId: null },
      { kind: 'key_revoked', subject: tenantId, keyId },
      { kind: 'admin_sessions_ended', subject: adminId, keyId: undefined },
    ]);
  });

  it('when a change commits after a later one was already read, then it still arrives (the look-back), once', async () => {
    const early = randomUUID();
    const late = randomUUID();
    let commitEarly!: () => void;
    const held = new Promise<void>((resolve) => {
      commitEarly = resolve;
    });
    // The early change takes its sequence number first but commits last.
    const slow = withTransaction(pool, async (tx) => {
      await recordAccessChange(tx, { kind: 'tenant_suspended', tenantId: early });
      await held;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await recordAccessChange(pool, { kind: 'tenant_suspended', tenantId: late });
    await feed.poll();
    expect(seen.map(subjectOf)).toEqual([late]);
    commitEarly();
    await slow;
    await feed.poll();
    await feed.poll();
    expect(seen.map(subjectOf)).toEqual([late, early]);
  });

  it('when a read fails, then the changes arrive with the next one that works', async () => {
    const tenantId = randomUUID();
    await recordAccessChange(pool, { kind: 'tenant_resumed', tenantId });
    // A real failed read: the table is out of reach for a moment.
    await pool.query('ALTER TABLE access_changes RENAME TO access_changes_away');
    await feed.poll();
    expect(seen).toEqual([]);
    await pool.query('ALTER TABLE access_changes_away RENAME TO access_changes');
    await feed.poll();
    expect(seen.map(subjectOf)).toEqual([tenantId]);
  });
});
