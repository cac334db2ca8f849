import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  API_REQUEST_EVENT,
  counter,
  MAX_USAGE_EVENTS_PER_REPORT,
  observedGauge,
  type Logger,
  type MetricsRegistry,
  type ServiceClient,
  type UsageEventRecord,
} from '@codex/shared';
import type { UsageBuffer } from './usage-buffer';

/** Buffered batches sent per replay round, one report each. */
const REPLAY_BATCHES = 20;

export interface UsageMeterOptions {
  billing: ServiceClient;
  buffer: UsageBuffer;
  /** Where a batch goes when the primary buffer fails too (Redis down while billing is down). */
  fallback?: UsageBuffer;
  flushMs: number;
  logger: Logger;
  metrics: MetricsRegistry;
}

/** The proxied call an event is about. */
export interface MeteredCall {
  tenantId: string;
  keyId?: string;
  service: string;
  /** The route template it matched. */
  route: string;
}

type Outcome = 'sent' | 'buffered' | 'replayed' | 'dropped';

/**
 * One usage event per proxied request of a tenant, never on the request's
 * path: events are noted in memory and reported to billing in batches once
 * per interval (or when a batch is full). A report billing cannot take goes
 * to the durable buffer; a replay round after each interval sends the
 * buffer's oldest batches while billing answers. Counters per outcome and the
 * buffer's size are on /metrics.
 */
export class UsageMeter {
  private pending: UsageEventRecord[] = [];
  private readonly timer: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly outcomes;
  private readonly recorded;
  /** Whether the last report reached billing: replays wait for a working billing service. */
  private billingUp = true;

  constructor(private readonly options: UsageMeterOptions) {
    this.timer = setInterval(() => void this.flush(), options.flushMs);
    this.timer.unref();
    this.outcomes = counter(options.metrics, 'usage_events_total', 'Usage events by what became of them: sent, buffered, replayed from the buffer, dropped', [
      'outcome',
    ]);
    // Every request metered, finished or cut off by its client: the count billing must reach exactly.
    this.recorded = counter(options.metrics, 'usage_events_recorded_total', 'Usage events made, one per metered request (before any is sent)', []);
    let bufferedSize = 0;
    observedGauge(options.metrics, 'usage_buffer_events', 'Usage events held in the durable buffer until billing takes them', ['buffer'], () => {
      void options.buffer.size().then(
        (size) => (bufferedSize = size),
        () => undefined,
      );
      return [[{ buffer: options.buffer.kind }, bufferedSize]];
    });
  }

  /**
   * Counts the request once it is over, finished or cut off: the tenant's key, service, route, status,
   * bytes each way and duration.
   */
  track(req: IncomingMessage, res: ServerResponse, call: MeteredCall): void {
    const started = performance.now();
    const occurredAt = new Date().toISOString();
    const socket = req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    res.once('close', () => {
      this.record({
        id: randomUUID(),
        tenantId: call.tenantId,
        occurredAt,
        code: API_REQUEST_EVENT,
        properties: {
          keyId: call.keyId ?? null,
          service: call.service,
          route: call.route,
          method: req.method ?? null,
          status: res.statusCode,
          bytesIn: Math.max(0, socket.bytesRead - readBefore),
          bytesOut: Math.max(0, socket.bytesWritten - writtenBefore),
          durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        },
      });
    });
  }

  record(event: UsageEventRecord): void {
    this.recorded.inc();
    this.pending.push(event);
    if (this.pending.length >= MAX_USAGE_EVENTS_PER_REPORT) void this.flush();
  }

  /** Reports what was noted, then replays the buffer while billing answers; one round at a time. */
  flush(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_USAGE_EVENTS_PER_REPORT);
      if (this.billingUp && (await this.report(batch))) this.count('sent', batch.length);
      else if (!(await this.keep(batch))) return;
    }
    if (this.billingUp) await this.replay();
    else this.billingUp = true; // try again next round
  }

  private async replay(): Promise<void> {
    for (const buffer of [this.options.buffer, this.options.fallback]) {
      if (!buffer) continue;
      for (;;) {
        const batches = await buffer.take(REPLAY_BATCHES).catch(() => []);
        if (batches.length === 0) break;
        const stored = [];
        for (const batch of batches) {
          if (!(await this.report(batch.events))) break;
          stored.push(batch);
          this.count('replayed', batch.events.length);
        }
        await buffer.ack(stored).catch((err: unknown) => this.options.logger.warn('could not forget replayed usage events', { err }));
        if (stored.length < batches.length) return;
      }
    }
  }

  /** Sends one report; false when billing did not take it (it is then kept by the caller). */
  private async report(events: UsageEventRecord[]): Promise<boolean> {
    try {
      await this.options.billing.request({ method: 'POST', path: '/internal/usage/events', body: { events } });
      return true;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        // Billing understood and refused the report: sending it again would be refused again.
        this.options.logger.error('billing refused a usage report; its events are dropped', { err, events: events.length });
        this.count('dropped', events.length);
        return true;
      }
      if (this.billingUp) this.options.logger.warn('billing did not take usage events; buffering them', { reason: (err as Error).message });
      this.billingUp = false;
      return false;
    }
  }

  /** Buffers a batch billing did not take; false when no buffer works (the batch waits in memory). */
  private async keep(events: UsageEventRecord[]): Promise<boolean> {
    for (const buffer of [this.options.buffer, this.options.fallback]) {
      if (!buffer) continue;
      try {
        if (await buffer.append(events)) {
          this.count('buffered', events.length);
          return true;
        }
        this.options.logger.error('the usage buffer is full; events are dropped', { buffer: buffer.kind, events: events.length });
        this.count('dropped', events.length);
        return true;
      } catch (err) {
        this.options.logger.warn('could not buffer usage events', { buffer: buffer.kind, err });
      }
    }
    // Neither buffer works: kept in memory for the next round rather than lost.
    this.pending.unshift(...events);
    return false;
  }

  private count(outcome: Outcome, events: number): void {
    this.outcomes.inc({ outcome }, events);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    // What arrived while the last round ran.
    if (this.pending.length > 0) await this.flush();
  }
}
