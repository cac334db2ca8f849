import type { ServerResponse } from 'node:http';
import { type Logger, Poller, type Queryable } from '@codex/shared';

interface MinuteCounts {
  requests: number;
  clientErrors: number;
  serverErrors: number;
}

const MINUTE_MS = 60_000;

/**
 * Counts the requests this gateway answers per minute (and how many were 4xx and 5xx), and adds them to
 * `gateway_traffic` every `flushMs`, where every instance's counts meet. Nothing is written on the request's
 * path; counts a failed write could not store are kept and sent with the next.
 */
export class TrafficCounter {
  /** Keyed by `minute/service`. */
  private readonly minutes = new Map<string, MinuteCounts & { minute: number; service: string }>();
  private readonly poller: Poller;

  constructor(
    private readonly db: Queryable,
    flushMs: number,
    logger: Logger,
  ) {
    // The shared schedule: writes never overlap, and one that fails is logged while the next tries again.
    this.poller = new Poller(() => this.write(), flushMs, { logger, message: 'gateway traffic counts not stored; kept for the next write', level: 'warn' });
    this.poller.start();
  }

  /** Counts `res`, a request for `service`, in the minute it is answered. */
  track(res: ServerResponse, service: string): void {
    res.once('finish', () => this.record(service, res.statusCode));
  }

  record(service: string, status: number, at = Date.now()): void {
    const minute = at - (at % MINUTE_MS);
    const key = `${minute}/${service}`;
    let counts = this.minutes.get(key);
    if (!counts) {
      counts = { minute, service, requests: 0, clientErrors: 0, serverErrors: 0 };
      this.minutes.set(key, counts);
    }
    counts.requests += 1;
    if (status >= 500) counts.serverErrors += 1;
    else if (status >= 400) counts.clientErrors += 1;
  }

  flush(): Promise<void> {
    return this.poller.runNow();
  }

  async close(): Promise<void> {
    this.poller.stop();
    await this.flush();
  }

  private async write(): Promise<void> {
    const batch = [...this.minutes.values()];
    if (batch.length === 0) return;
    // Taken out now; requests answered while the write runs start new counts, added up next time.
    this.minutes.clear();
    try {
      await this.db.query(
        `INSERT INTO gateway_traffic AS t (minute, service, requests, client_errors, server_errors)
         SELECT to_timestamp(m / 1000.0), v, r, c, s FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS b(m, v, r, c, s)
         ON CONFLICT (minute, service) DO UPDATE SET requests = t.requests + EXCLUDED.requests,
           client_errors = t.client_errors + EXCLUDED.client_errors, server_errors = t.server_errors + EXCLUDED.server_errors`,
        [
          batch.map((b) => b.minute),
          batch.map((b) => b.service),
          batch.map((b) => b.requests),
          batch.map((b) => b.clientErrors),
          batch.map((b) => b.serverErrors),
        ],
      );
    } catch (err) {
      // Put back, to go with the next write (the master database may be restarting).
      for (const sent of batch) {
        const key = `${sent.minute}/${sent.service}`;
        const since = this.minutes.get(key);
        this.minutes.set(
          key,
          since
            ? {
                ...sent,
                requests: sent.requests + since.requests,
                clientErrors: sent.clientErrors + since.clientErrors,
                serverErrors: sent.serverErrors + since.serverErrors,
              }
            : sent,
        );
      }
      throw err;
    }
  }
}
