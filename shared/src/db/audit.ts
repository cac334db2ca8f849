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
  /** What changed: `before` and `after` where a record changed. */
  details?: Record<string, unknown>;
}

/**
 * Appends to the master database's audit log; call in the transaction of the
 * change it records. The request's id is taken from the request being served
 * unless given.
 */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (actor_type, actor_id, tenant_id, action, target_type, target_id, request_id, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      entry.actorType,
      entry.actorId ?? null,
      entry.tenantId ?? null,
      entry.action,
      entry.targetType ?? null,
      entry.targetId ?? null,
      entry.requestId ?? currentContext()?.requestId ?? null,
      JSON.stringify(entry.details ?? {}),
    ],
  );
}
