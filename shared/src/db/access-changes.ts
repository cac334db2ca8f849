import type { Logger } from '../logger';
import { Poller } from '../polling';
import type { Queryable } from './pool';

export type AccessChangeKind =
  | 'tenant_suspended'
  | 'tenant_resumed'
  | 'tenant_deleted'
  | 'tenant_restored'
  | 'tenant_moved'
  | 'key_revoked'
  | 'key_expiry_changed'
  | 'admin_sessions_ended';

export type AccessChange =
  | { seq: number; kind: Exclude<AccessChangeKind, 'admin_sessions_ended'>; tenantId: string; keyId: string | null; at: Date }
  | { seq: number; kind: 'admin_sessions_ended'; adminId: string; at: Date };

type NewAccessChange =
  | { kind: Exclude<AccessChangeKind, 'admin_sessions_ended'>; tenantId: string; keyId?: string }
  | { kind: 'admin_sessions_ended'; adminId: string };

/** Records a change to who may call the platform; call in the transaction of the change. */
export async function recordAccessChange(db: Queryable, change: NewAccessChange): Promise<void> {
  const subject = change.kind === 'admin_sessions_ended' ? [null, null, change.adminId] : [change.tenantId, change.keyId ?? null, null];
  await db.query('INSERT INTO access_changes (kind, tenant_id, key_id, admin_id) VALUES ($1, $2, $3, $4)', [change.kind, ...subject]);
}

/** How far back each read looks, beyond the last sequence number seen: a row whose transaction commits late still arrives. */
const LOOK_BACK_MS = 10_000;
/** Every this many reads an instance removes rows older than an hour. */
const PRUNE_EVERY_POLLS = 60;

export interface AccessChangesOptions {
  /** How often the table is read (default 1 s): a change is in force everywhere within about this. */
  pollMs?: number;
  logger?: Logger;
}

/**
 * Tells this process about suspensions, resumptions and key revocations made by any instance, by reading
 * `access_changes` each second. Each change is handed to the handlers once. Polling starts with the first
 * handler, with every change still kept.
 */
export class AccessChanges {
  private readonly handlers: Array<(change: AccessChange) => void | Promise<void>> = [];
  private readonly seen = new Map<number, number>();
  private lastSeq?: number;
  private lastReadAt?: Date;
  private polls = 0;
  private readonly poller: Poller;

  constructor(
    private readonly db: Queryable,
    options: AccessChangesOptions = {},
  ) {
    this.poller = new Poller(() => this.read(), options.pollMs ?? 1_000, { logger: options.logger, message: 'access changes poll failed' });
  }

  onChange(handler: (change: AccessChange) => void | Promise<void>): void {
    this.handlers.push(handler);
    this.poller.start({ immediately: true });
  }

  /** Reads and hands out what changed since the last read (tests call it to skip the wait). */
  poll(): Promise<void> {
    return this.poller.runNow();
  }

  close(): void {
    this.poller.stop();
  }

  private async read(): Promise<void> {
    // The first read hands out every change still kept (an hour): a gateway started after an admin's
    // sessions were ended must still refuse that admin's unexpired tokens. The rest are harmless again.
    const since = new Date((this.lastReadAt?.getTime() ?? 0) - LOOK_BACK_MS);
    const { rows } = await this.db.query<{
      read_at: Date;
      changes: Array<{ seq: number; kind: AccessChangeKind; tenant_id: string | null; key_id: string | null; admin_id: string | null; changed_at: string }>;
    }>(
      `SELECT now() AS read_at,
                coalesce((SELECT json_agg(c ORDER BY c.seq)
                            FROM (SELECT seq, kind, tenant_id, key_id, admin_id, changed_at FROM access_changes WHERE seq > $1 OR changed_at > $2) c), '[]') AS changes`,
      [this.lastSeq ?? 0, since],
    );
    const { read_at: readAt, changes } = rows[0]!;
    for (const row of changes) {
      if (this.seen.has(row.seq)) continue;
      this.seen.set(row.seq, readAt.getTime());
      this.lastSeq = Math.max(this.lastSeq ?? 0, row.seq);
      const at = new Date(row.changed_at);
      const change: AccessChange =
        row.kind === 'admin_sessions_ended'
          ? { seq: row.seq, kind: row.kind, adminId: row.admin_id!, at }
          : { seq: row.seq, kind: row.kind, tenantId: row.tenant_id!, keyId: row.key_id, at };
      for (const handler of this.handlers) await handler(change);
    }
    this.lastReadAt = readAt;
    for (const [seq, at] of this.seen) if (at < readAt.getTime() - 2 * LOOK_BACK_MS) this.seen.delete(seq);
    if (++this.polls % PRUNE_EVERY_POLLS === 0) await this.db.query(`DELETE FROM access_changes WHERE changed_at < now() - interval '1 hour'`);
  }
}
