import type { Logger } from '../logger';
import { counter, observedGauge, type MetricsRegistry } from '../metrics';
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
  /** When it happened, if not now (an entry written late, from a buffer). */
  occurredAt?: Date;
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
    `INSERT INTO audit_log (actor_type, actor_id, tenant_id, action, target_type, target_id, request_id, ip, details, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()))`,
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
      entry.occurredAt ?? null,
    ],
  );
}

export interface AuditWriterOptions {
  logger: Logger;
  metrics?: MetricsRegistry;
  /** Entries kept while the database does not take them; the oldest is dropped (and counted) beyond. */
  maxBuffered?: number;
  /** First retry after this long, doubling up to 30 s. */
  retryMs?: number;
}

/**
 * Audit entries that stand alone — a failed sign-in, an export, a server that stopped answering —
 * rather than inside the transaction of the change they record (those use recordAudit in it, so the
 * change and its entry commit together). `append` never fails and never waits on a failing database: an
 * entry the log does not take is kept in memory (bounded), with its time and request, and retried with
 * backoff, in order. `audit_writes_total{result}` counts written, buffered and dropped entries;
 * `audit_buffered_entries` shows the backlog.
 */
export class AuditWriter {
  private readonly backlog: AuditEntry[] = [];
  private timer?: NodeJS.Timeout;
  private delayMs: number;
  private flushing?: Promise<void>;
  private readonly writes?: ReturnType<typeof counter<'result'>>;

  constructor(
    private readonly db: Queryable,
    private readonly options: AuditWriterOptions,
  ) {
    this.delayMs = options.retryMs ?? 1_000;
    if (options.metrics) {
      this.writes = counter(
        options.metrics,
        'audit_writes_total',
        'Stand-alone audit entries: written, buffered (the log did not take them at once), dropped (buffer full)',
        ['result'],
      );
      observedGauge(options.metrics, 'audit_buffered_entries', 'Audit entries waiting for the database to take them', [], () => [[{}, this.backlog.length]]);
    }
  }

  /** Appends the entry now, or keeps it for later; resolves either way. */
  async append(entry: AuditEntry): Promise<void> {
    const context = currentContext();
    const stamped: AuditEntry = {
      ...entry,
      requestId: entry.requestId ?? context?.requestId,
      ip: entry.ip ?? context?.client?.ip,
      occurredAt: entry.occurredAt ?? new Date(),
    };
    // Behind a backlog, a new entry waits its turn: the log keeps their order.
    if (this.backlog.length === 0) {
      try {
        await recordAudit(this.db, stamped);
        this.writes?.inc({ result: 'written' });
        return;
      } catch (err) {
        this.options.logger.warn('audit entry not written; kept and retried', { action: entry.action, err });
      }
    }
    this.keep(stamped);
  }

  /** Entries waiting to be written. */
  get buffered(): number {
    return this.backlog.length;
  }

  /** Writes what is kept now (tests; shutdown). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.flush();
  }

  private keep(entry: AuditEntry): void {
    if (this.backlog.length >= (this.options.maxBuffered ?? 10_000)) {
      this.backlog.shift();
      this.writes?.inc({ result: 'dropped' });
      this.options.logger.error('audit buffer full: the oldest kept entry was dropped');
    }
    this.backlog.push(entry);
    this.writes?.inc({ result: 'buffered' });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.delayMs);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    while (this.backlog.length > 0) {
      try {
        await recordAudit(this.db, this.backlog[0]!);
      } catch {
        this.delayMs = Math.min(this.delayMs * 2, 30_000);
        this.schedule();
        return;
      }
      this.backlog.shift();
      this.writes?.inc({ result: 'written' });
    }
    this.delayMs = this.options.retryMs ?? 1_000;
  }
}
