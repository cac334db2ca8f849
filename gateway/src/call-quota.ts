import { AppError, ErrorCode, type Logger, type Queryable } from '@codex/shared';

interface Tally {
  tenantId: string;
  periodStart: Date;
  periodEnd: Date;
  /** The count all gateways had stored at this instance's last flush. */
  stored: number;
  /** Calls this instance let through since then. */
  pending: number;
}

/**
 * API calls per tenant per plan period, counted off the request path: each
 * gateway tallies in memory and adds its tallies to the master database's
 * `tenant_usage` (which the gateways own) once a second, reading back every
 * gateway's total. A quota is enforced against that total plus this
 * instance's tally, so it may be passed by at most one flush interval of
 * traffic per instance. Counts are durable (a Redis restart would lose a
 * month's count) and cost one statement a second per gateway, not one per request.
 */
export class CallQuota {
  private readonly tallies = new Map<string, Tally>();
  private readonly timer: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly db: Queryable,
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /**
   * Counts one call of the tenant in the period, or refuses it with 429
   * QUOTA_EXCEEDED (naming the limit and when it resets) when the period's
   * quota is used up. A null quota counts without limit.
   */
  take(tenantId: string, period: { start: Date; end: Date }, quota: number | null): void {
    const id = `${tenantId}/${period.start.getTime()}`;
    let tally = this.tallies.get(id);
    if (!tally) {
      tally = { tenantId, periodStart: period.start, periodEnd: period.end, stored: 0, pending: 0 };
      this.tallies.set(id, tally);
    }
    if (quota !== null && tally.stored + tally.pending >= quota) {
      const retryAfter = Math.max(1, Math.ceil((period.end.getTime() - Date.now()) / 1000));
      throw new AppError(
        ErrorCode.QUOTA_EXCEEDED,
        429,
        `This tenant has used its ${quota} API calls for the period; the quota resets at ${period.end.toISOString()}`,
        { limit: 'apiCallsPerMonth', max: quota, resetAt: period.end.toISOString() },
        { headers: { 'Retry-After': String(retryAfter) } },
      );
    }
    tally.pending += 1;
  }

  /** Adds the tallies to the stored counts and reads every gateway's totals back. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const batch = [...this.tallies.values()];
    if (batch.length === 0) return;
    const sent = batch.map((tally) => tally.pending);
    try {
      const { rows } = await this.db.query<{ tenant_id: string; period_start: Date; api_calls: string }>(
        `INSERT INTO tenant_usage AS u (tenant_id, period_start, api_calls)
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[])
         ON CONFLICT (tenant_id, period_start) DO UPDATE SET api_calls = u.api_calls + EXCLUDED.api_calls
         RETURNING tenant_id, period_start, api_calls`,
        [batch.map((t) => t.tenantId), batch.map((t) => t.periodStart), sent],
      );
      const totals = new Map(rows.map((row) => [`${row.tenant_id}/${row.period_start.getTime()}`, Number(row.api_calls)]));
      batch.forEach((tally, index) => {
        const id = `${tally.tenantId}/${tally.periodStart.getTime()}`;
        tally.pending -= sent[index]!;
        tally.stored = totals.get(id) ?? tally.stored + sent[index]!;
        // A period that has ended takes no more calls.
        if (tally.pending === 0 && tally.periodEnd.getTime() <= Date.now()) this.tallies.delete(id);
      });
    } catch (err) {
      // Kept for the next flush: the tallies still hold what was not written.
      this.logger.warn('could not store API call counts; will try again', { reason: (err as Error).message, tenants: batch.length });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
