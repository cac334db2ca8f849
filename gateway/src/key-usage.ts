import type { Logger, ServiceClient } from '@codex/shared';

/** Keys per report; the admin service takes up to 5,000. */
const REPORT_SIZE = 5_000;

/**
 * Records when each API key was last used without touching the request's
 * path: uses are noted in memory and sent to the admin service (which owns
 * `api_keys`) in one batch per interval, and once more on shutdown. A lost
 * batch only leaves `lastUsedAt` a little older than it should be.
 */
export class KeyUsageReporter {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly admin: ServiceClient,
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  used(keyId: string): void {
    this.pending.set(keyId, Date.now());
  }

  /** Sends what was noted since the last report. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const noted = this.pending;
    this.pending = new Map();
    const usage = [...noted].map(([id, at]) => ({ id, lastUsedAt: new Date(at).toISOString() }));
    for (let start = 0; start < usage.length; start += REPORT_SIZE) {
      const report = usage.slice(start, start + REPORT_SIZE);
      await this.admin.request({ method: 'POST', path: '/internal/api-keys/usage', body: { usage: report } }).catch((err: unknown) => {
        // Kept for the next report (a newer use of a key wins); the admin service may just be restarting.
        for (const { id } of report) if (!this.pending.has(id)) this.pending.set(id, noted.get(id)!);
        this.logger.warn('could not report API key usage; will try again', { reason: (err as Error).message, keys: report.length });
      });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
