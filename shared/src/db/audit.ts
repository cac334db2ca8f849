import { currentContext } from '../request-context';
import type { Queryable } from './pool';

export interface AuditEntry {
  actorType: 'admin' | 'user' | 'service' | 'system';
  actorId?: string;
  tenantId?: string;
  action: string;
  targetType?: string;
  targetId?: string;
  requestId?: string;
  /** The client's address; the request being served's unless given. */
  ip?: string;
  /** What changed: `before` and `after` where a record changed. */
  details?: Record<string, unknown>;
}

/** Who did it, as audit entries name them. */
export type AuditActor = Pick<AuditEntry, 'actorType' | 'actorId'>;

/** The actor of a platform admin's request. */
export const adminActor = (adminId: string): AuditActor => ({ actorType: 'admin', actorId: adminId });

/**
 * Appends to the master database's audit log; call in the transaction of the
 * change it records, after its other writes: the append takes the log's one
 * chain lock (migration 0017) until that transaction ends. The request's id
 * and client address are taken from the request being served unless given.
 */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (actor_type, actor_id, tenant_id, action, target_type, target_id, request_id, ip, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      entry.actorType,
      entry.actorId ?? null,
      entry.tenantId ?? null,
      entry.action,
      entry.targetType ?? null,
      entry.targetId ?? null,
      entry.requestId ?? currentContext()?.requestId ?? null,
      entry.ip ?? currentContext()?.client?.ip ?? null,
      JSON.stringify(entry.details ?? {}),
    ],
  );
}
