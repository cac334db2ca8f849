import type { Queryable } from '@codex/shared';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';

export interface AuditRecord {
  seq: number;
  occurredAt: Date;
  actorType: string;
  actorId: string | null;
  tenantId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  requestId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  /** SHA-256 over the previous row's hash and this row's canonical content, hex. */
  hash: string;
  prevHash: string | null;
}

export interface AuditFilter {
  actor?: string;
  actorType?: string;
  action?: string;
  tenantId?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
}

interface AuditRow {
  seq: string;
  occurred_at: Date;
  actor_type: string;
  actor_id: string | null;
  tenant_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  hash: Buffer;
  prev_hash: Buffer | null;
}

const COLUMNS = 'seq, occurred_at, actor_type, actor_id, tenant_id, action, target_type, target_id, request_id, host(ip) AS ip, details, hash, prev_hash';

export function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    occurredAt: row.occurred_at,
    actorType: row.actor_type,
    actorId: row.actor_id,
    tenantId: row.tenant_id,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    requestId: row.request_id,
    ip: row.ip,
    details: row.details,
    hash: row.hash.toString('hex'),
    prevHash: row.prev_hash?.toString('hex') ?? null,
  };
}

/** The WHERE clause and its parameters for a filter; `first` is the number of the first parameter. */
function whereOf(filter: AuditFilter, first = 1): { sql: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (condition: (ref: string) => string, value: unknown) => {
    if (value === undefined) return;
    params.push(value);
    conditions.push(condition(`$${first + params.length - 1}`));
  };
  add((ref) => `actor_id = ${ref}`, filter.actor);
  add((ref) => `actor_type = ${ref}`, filter.actorType);
  add((ref) => `action = ${ref}`, filter.action);
  add((ref) => `tenant_id = ${ref}`, filter.tenantId);
  add((ref) => `target_type = ${ref}`, filter.targetType);
  add((ref) => `target_id = ${ref}`, filter.targetId);
  add((ref) => `occurred_at >= ${ref}`, filter.from);
  add((ref) => `occurred_at < ${ref}`, filter.to);
  return { sql: conditions.length ? conditions.join(' AND ') : 'true', params };
}

/** Entries matching the filter, newest first, after the cursor (a sequence number) when given. */
export async function auditPage(db: Queryable, filter: AuditFilter, limit: number, before?: number): Promise<AuditRecord[]> {
  const where = whereOf(filter, 3);
  const { rows } = await db.query<AuditRow>(
    `SELECT ${COLUMNS} FROM audit_log WHERE ($1::bigint IS NULL OR seq < $1) AND ${where.sql} ORDER BY seq DESC LIMIT $2`,
    [before ?? null, limit, ...where.params],
  );
  return rows.map(toAuditRecord);
}

/** Every entry matching the filter, oldest first, read in batches from one cursor. */
export function streamAuditRows(db: PoolClient, filter: AuditFilter): NodeJS.ReadableStream {
  const where = whereOf(filter);
  return db.query(new QueryStream(`SELECT ${COLUMNS} FROM audit_log WHERE ${where.sql} ORDER BY seq`, where.params, { batchSize: 500 }));
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/** The newest entry's sequence number and hash; null while the log is empty. */
export async function chainHead(db: Queryable): Promise<ChainHead | null> {
  const { rows } = await db.query<{ seq: string; hash: Buffer }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash.toString('hex') } : null;
}

/** The stored hashes at the given sequence numbers (absent ones are missing from the map). */
export async function hashesAt(db: Queryable, seqs: number[]): Promise<Map<number, string>> {
  const { rows } = await db.query<{ seq: string; hash: Buffer }>('SELECT seq, hash FROM audit_log WHERE seq = ANY($1::bigint[])', [seqs]);
  return new Map(rows.map((row) => [Number(row.seq), row.hash.toString('hex')]));
}

export type LinkProblem = 'changed' | 'missing' | 'link';

export interface LinkBreak {
  /** The first row that fails, or for `missing` the first sequence number absent. */
  seq: number;
  problem: LinkProblem;
}

/**
 * The first row, in sequence order, whose stored hash is not its content's, that follows a gap, or
 * whose previous-hash is not the hash of the row before it. The canonical content is written out here
 * rather than calling the migration's function, so redefining that function in the database hides nothing.
 */
export async function firstLinkBreak(db: Queryable): Promise<{ rows: number; head: number | null; firstBreak: LinkBreak | null }> {
  const { rows } = await db.query<{ rows: string; head: string | null; seq: string | null; problem: LinkProblem | null }>(
    `WITH chain AS (
       SELECT seq, hash, prev_hash,
              sha256(coalesce(prev_hash, '\\x'::bytea) || convert_to(jsonb_build_array(
                seq, (extract(epoch FROM occurred_at) * 1000000)::bigint, actor_type, actor_id, tenant_id, action,
                target_type, target_id, request_id, host(ip), details
              )::text, 'UTF8')) AS recomputed,
              lag(seq) OVER (ORDER BY seq) AS previous_seq,
              lag(hash) OVER (ORDER BY seq) AS previous_hash
         FROM audit_log
     ),
     broken AS (
       SELECT CASE WHEN seq <> coalesce(previous_seq, 0) + 1 THEN coalesce(previous_seq, 0) + 1 ELSE seq END AS seq,
              CASE WHEN seq <> coalesce(previous_seq, 0) + 1 THEN 'missing'
                   WHEN hash IS DISTINCT FROM recomputed THEN 'changed'
                   ELSE 'link' END AS problem
         FROM chain
        WHERE seq <> coalesce(previous_seq, 0) + 1 OR hash IS DISTINCT FROM recomputed OR prev_hash IS DISTINCT FROM previous_hash
        ORDER BY chain.seq
        LIMIT 1
     )
     SELECT (SELECT count(*) FROM audit_log) AS rows, (SELECT max(seq) FROM audit_log) AS head, broken.seq, broken.problem
       FROM (SELECT 1) one LEFT JOIN broken ON true`,
  );
  const row = rows[0]!;
  return {
    rows: Number(row.rows),
    head: row.head === null ? null : Number(row.head),
    firstBreak: row.seq === null ? null : { seq: Number(row.seq), problem: row.problem! },
  };
}
