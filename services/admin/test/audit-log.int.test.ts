import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import request from 'supertest';
import { closeServiceDeps, recordAudit, withTransaction, type AuditEntry, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { AuditCheckpoints } from '../src/domain/audit-log';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { createTestDeps } from '../../../test/support/service-deps';
import { serviceAuth } from '../../../test/support/service-auth';

/**
 * The audit log as #14 asks: append-only in the database, hash-chained, checked against signed checkpoints
 * kept outside it. Each tamper test works on a database of its own and changes rows the way someone with
 * the database's superuser would: with the triggers switched off for the session.
 */
describe('audit log (admin service)', () => {
  let db: TestDatabase;
  let deps: ServiceDeps<'admin'>;
  let app: ReturnType<typeof createApp>;

  const asAdmin = (role = 'super_admin') => serviceAuth(deps, 'admin', { adminId: 'a1', roles: [role] });
  const entry = (n: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
    actorType: 'admin',
    actorId: `admin-${n % 3}`,
    tenantId: n % 2 ? '00000000-0000-4000-8000-000000000001' : '00000000-0000-4000-8000-000000000002',
    action: n % 2 ? 'tenant.suspended' : 'tenant.reactivated',
    targetType: 'tenant',
    targetId: `t-${n}`,
    requestId: `req-${n}`,
    ip: '203.0.113.7',
    details: { n, before: { status: 'active' }, after: { status: 'suspended' } },
    ...extra,
  });
  async function append(count: number, from = 1) {
    for (let n = from; n < from + count; n += 1) await recordAudit(deps.db, entry(n));
  }
  /** Runs SQL as a superuser that switched the log's triggers off: the attacker the chain is for. */
  async function behindTheApisBack(sql: string, params: unknown[] = []) {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`SET session_replication_role = replica`);
      await client.query(sql, params);
    } finally {
      await client.end();
    }
  }
  const verify = async () => {
    const res = await request(app).get('/api/v1/admin/audit-log/verify').set('Authorization', asAdmin('support'));
    expect(res.status).toBe(200);
    return res.body;
  };
  const checkpoint = () => request(app).post('/api/v1/admin/audit-log/checkpoints').set('Authorization', asAdmin());

  beforeEach(async () => {
    db = await createTestDatabase('master');
    deps = createTestDeps('admin', db.url);
    app = createApp(deps);
  });
  afterEach(async () => {
    await closeServiceDeps(deps);
    await db.drop();
  });

  it('when entries are appended, then each links to the one before it, and verify finds the chain whole', async () => {
    await append(6);
    const page = await request(app).get('/api/v1/admin/audit-log?limit=10').set('Authorization', asAdmin('support'));
    expect(page.status).toBe(200);
    const items = page.body.items as Array<{ seq: number; hash: string; prevHash: string | null; ip: string }>;
    expect(items.map((item) => item.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    for (const [i, item] of items.entries()) expect(item.prevHash).toBe(items[i + 1]?.hash ?? null);
    expect(items[0]).toMatchObject({ ip: '203.0.113.7', requestId: 'req-6', details: { n: 6 } });

    expect(await verify()).toMatchObject({ valid: true, rows: 6, head: 6, firstBreak: null, checkpoints: { total: 0, invalid: 0 } });
    expect((await checkpoint()).body).toMatchObject({ seq: 6, hash: items[0]!.hash });
    expect(await verify()).toMatchObject({ valid: true, checkpoints: { total: 1, verified: 1, latest: { seq: 6 } } });
  });

  it('when anyone updates, deletes or truncates through SQL, then the database refuses', async () => {
    await append(2);
    for (const sql of ['UPDATE audit_log SET action = $$x$$', 'DELETE FROM audit_log WHERE seq = 1', 'TRUNCATE audit_log']) {
      await expect(deps.db.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
    }
    const privileges = await deps.db.query(
      `SELECT has_table_privilege('public', 'audit_log', 'UPDATE') AS "update", has_table_privilege('public', 'audit_log', 'DELETE') AS "delete"`,
    );
    expect(privileges.rows[0]).toEqual({ update: false, delete: false });
    expect(await verify()).toMatchObject({ valid: true, rows: 2 });
  });

  it('when a row is edited behind the API, then verify names that row as changed', async () => {
    await append(8);
    await behindTheApisBack(`UPDATE audit_log SET details = '{"n": 4, "after": {"status": "active"}}' WHERE seq = 4`);
    expect(await verify()).toMatchObject({ valid: false, firstBreak: { seq: 4, problem: 'changed', detail: expect.stringContaining('entry 4') } });
  });

  it('when a middle row is deleted, then verify names the missing sequence number', async () => {
    await append(8);
    await behindTheApisBack('DELETE FROM audit_log WHERE seq = 5');
    expect(await verify()).toMatchObject({ valid: false, rows: 7, firstBreak: { seq: 5, problem: 'missing' } });
  });

  it('when a row is edited and its hash recomputed, then the next row no longer links to it', async () => {
    await append(5);
    await behindTheApisBack(
      `UPDATE audit_log SET actor_id = 'someone-else',
         hash = audit_log_row_hash(prev_hash, seq, occurred_at, actor_type, 'someone-else', tenant_id, action, target_type, target_id, request_id, ip, details)
       WHERE seq = 3`,
    );
    expect(await verify()).toMatchObject({ valid: false, firstBreak: { seq: 4, problem: 'link' } });
  });

  it('when the newest rows are removed after a checkpoint, then verify reports the tail missing from the first removed row', async () => {
    await append(5);
    expect((await checkpoint()).status).toBe(201);
    await append(3, 6);
    await behindTheApisBack('DELETE FROM audit_log WHERE seq >= 4');
    // What is left is a whole chain of 3: only the checkpoint at 5 shows that rows went.
    expect(await verify()).toMatchObject({ valid: false, rows: 3, head: 3, firstBreak: { seq: 4, problem: 'truncated' } });
  });

  it('when the whole chain after a checkpoint is rewritten with fresh hashes, then the checkpoint catches it', async () => {
    await append(3);
    expect((await checkpoint()).status).toBe(201);
    await append(3, 4);
    expect((await checkpoint()).body).toMatchObject({ seq: 6 });
    // Rewrite entry 5, and re-chain 5 and 6 so every link holds again.
    await behindTheApisBack(`
      UPDATE audit_log SET action = 'tenant.created',
        hash = audit_log_row_hash(prev_hash, seq, occurred_at, actor_type, actor_id, tenant_id, 'tenant.created', target_type, target_id, request_id, ip, details)
       WHERE seq = 5;
      UPDATE audit_log a SET prev_hash = p.hash,
        hash = audit_log_row_hash(p.hash, a.seq, a.occurred_at, a.actor_type, a.actor_id, a.tenant_id, a.action, a.target_type, a.target_id, a.request_id, a.ip, a.details)
        FROM audit_log p WHERE p.seq = 5 AND a.seq = 6`);
    expect(await verify()).toMatchObject({ valid: false, firstBreak: { seq: 4, problem: 'rewritten', detail: expect.stringContaining('4–6') } });
  });

  it('when a checkpoint line is forged or garbled, then verify does not trust it and says so', async () => {
    await append(3);
    await checkpoint();
    const file = deps.config.audit.checkpointFile;
    const [line] = (await readFile(file, 'utf8')).trim().split('\n');
    await appendFile(file, `${JSON.stringify({ ...JSON.parse(line!), seq: 99 })}\nnot json\n`);
    expect(await verify()).toMatchObject({ valid: false, firstBreak: null, checkpoints: { total: 3, verified: 1, invalid: 2 } });
  });

  it('when many requests append at once, then the chain stays one line without gaps', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => withTransaction(deps.db, (tx) => recordAudit(tx, entry(i)))));
    const { rows } = await deps.db.query<{ seq: string }>('SELECT seq FROM audit_log ORDER BY seq');
    expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await verify()).toMatchObject({ valid: true, rows: 40 });
  });

  it('when a transaction that appended rolls back, then its number goes to the next entry and the chain stays whole', async () => {
    await append(1);
    await expect(
      withTransaction(deps.db, async (tx) => {
        await recordAudit(tx, entry(2));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await append(1, 3);
    expect(await verify()).toMatchObject({ valid: true, rows: 2, head: 2 });
  });

  it('when a name holds CR/LF or quotes, then CSV and JSON lines exports still hold one record per entry', async () => {
    await append(2);
    await recordAudit(deps.db, entry(3, { targetId: 'evil\r\n4,2026-01-01T00:00:00Z,admin,forged', details: { note: '"},\n{"seq":99' } }));
    await append(1, 4);

    const jsonl = await request(app).get('/api/v1/admin/audit-log/export?format=jsonl').set('Authorization', asAdmin('support'));
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = jsonl.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.seq)).toEqual([1, 2, 3, 4]);
    expect(lines[2].targetId).toBe('evil\r\n4,2026-01-01T00:00:00Z,admin,forged');

    const csv = await request(app).get('/api/v1/admin/audit-log/export?format=csv').set('Authorization', asAdmin('support'));
    expect(csv.status).toBe(200);
    const records = parse(csv.text, { columns: true }) as Array<Record<string, string>>;
    expect(records.map((record) => record.seq)).toEqual(['1', '2', '3', '4']);
    expect(records[2]!.target_id).toBe('evil\r\n4,2026-01-01T00:00:00Z,admin,forged');
    expect(records[3]!.prev_hash).toBe(records[2]!.hash);
  });

  it('when an admin filters and pages, then only matching entries come, newest first, and the cursor walks them all', async () => {
    await append(9);
    const get = (query: string) => request(app).get(`/api/v1/admin/audit-log?${query}`).set('Authorization', asAdmin('admin'));
    const byActor = await get('actor=admin-1&limit=2');
    expect(byActor.body.items.map((item: { seq: number }) => item.seq)).toEqual([7, 4]);
    const next = await get(`actor=admin-1&limit=2&cursor=${byActor.body.nextCursor}`);
    expect(next.body).toMatchObject({ items: [{ seq: 1 }], nextCursor: null });
    const byTarget = await get('targetType=tenant&targetId=t-5&action=tenant.suspended&tenantId=00000000-0000-4000-8000-000000000001');
    expect(byTarget.body.items.map((item: { seq: number }) => item.seq)).toEqual([5]);
    expect((await get(`from=${new Date(Date.now() + 60_000).toISOString()}`)).body.items).toEqual([]);
    expect((await get(`to=${new Date(Date.now() + 60_000).toISOString()}&limit=200`)).body.items).toHaveLength(9);
  });

  it('when the input is bad or the role lacks the permission, then 400 or 403 in the standard shape', async () => {
    const get = (query: string, role = 'support') => request(app).get(`/api/v1/admin/audit-log${query}`).set('Authorization', asAdmin(role));
    for (const query of [
      '?cursor=abc',
      '?limit=0',
      '?limit=201',
      '?tenantId=nope',
      '?from=yesterday',
      '?unknown=1',
      '?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    ]) {
      const res = await get(query);
      expect({ query, status: res.status, code: res.body.error?.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await request(app).get('/api/v1/admin/audit-log/export?format=xml').set('Authorization', asAdmin())).status).toBe(400);

    const viewer = await get('', 'viewer');
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.message).toMatch(/audit:read/);
    expect((await request(app).get('/api/v1/admin/audit-log/verify').set('Authorization', asAdmin('viewer'))).status).toBe(403);
    expect((await request(app).post('/api/v1/admin/audit-log/checkpoints').set('Authorization', asAdmin('support'))).status).toBe(403);
    // A tenant's user is not a platform admin, whatever their tenant role.
    const tenantUser = serviceAuth(deps, 'admin', { userId: randomUUID(), tenantId: randomUUID(), roles: ['owner'] });
    expect([401, 403]).toContain((await request(app).get('/api/v1/admin/audit-log').set('Authorization', tenantUser)).status);
    expect((await request(app).get('/api/v1/admin/audit-log')).status).toBe(401);
  });

  it('when the log grows, then the scheduled writer adds a signed checkpoint, and none while it stays still', async () => {
    const checkpoints = new AuditCheckpoints(deps.config.audit.checkpointFile, deps.config.secretKeys);
    try {
      await append(2);
      checkpoints.start(deps.db, 25);
      await waitFor(async () => (await checkpoints.read()).length === 1);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await checkpoints.read()).toHaveLength(1);
      await append(1, 3);
      await waitFor(async () => (await checkpoints.read()).length === 2);
      expect((await checkpoints.read()).map(({ checkpoint, valid }) => ({ seq: checkpoint.seq, valid }))).toEqual([
        { seq: 2, valid: true },
        { seq: 3, valid: true },
      ]);
    } finally {
      checkpoints.stop();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
