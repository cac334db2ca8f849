import {
  ErrorCode,
  NotFoundError,
  probeService,
  recordAudit,
  SERVICE_NAMES,
  withTransaction,
  type BreakerState,
  type Logger,
  type Pool,
  type Queryable,
  type ServiceName,
  type ServiceProbe,
} from '@codex/shared';
import {
  findService,
  findServiceForUpdate,
  incidentsBetween,
  listServices,
  recordStatusChange,
  saveServiceStatus,
  takeRegistryTurn,
  type ServiceRecord,
} from '../db/services-repo';
import type { AlertWebhook } from './alerts';

export interface RegistryDeps {
  db: Pool;
  serviceUrls: Record<ServiceName, string>;
  /** This process's circuit breakers towards the other services. */
  breakerStates: () => Record<string, BreakerState>;
  alerts: AlertWebhook;
  logger: Logger;
  /** Each /health must answer within this (default 2 s). */
  timeoutMs?: number;
}

interface RegistryEvent {
  event: 'service.down' | 'service.degraded' | 'service.recovered' | 'breaker.opened';
  service: string;
  details: Record<string, unknown>;
}

/**
 * Keeps `services` current from health polls of every service (the gateway included), opens and closes
 * incidents when a status changes, and for each change — and each breaker of this process that opens —
 * logs one structured warning, appends an audit entry and calls the alert webhook. With several admin
 * instances polling, one records each round (a transaction-scoped advisory lock).
 */
export class ServiceRegistry {
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private breakersBefore: Record<string, BreakerState> = {};

  constructor(private readonly deps: RegistryDeps) {}

  start(pollMs: number): void {
    if (pollMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: every service probed, changes recorded, then told (tests call it directly). */
  poll(): Promise<void> {
    if (!this.polling) {
      this.polling = this.round()
        .catch((err: unknown) => {
          this.deps.logger.warn('service registry poll failed', { err });
        })
        .finally(() => {
          this.polling = undefined;
        });
    }
    return this.polling;
  }

  private async round(): Promise<void> {
    const probes = await Promise.all(SERVICE_NAMES.map((name) => probeService(name, this.deps.serviceUrls[name], this.deps.timeoutMs ?? 2_000)));
    const events: RegistryEvent[] = [];
    await withTransaction(this.deps.db, async (tx) => {
      if (!(await takeRegistryTurn(tx))) return;
      for (const probe of probes) {
        const before = await findServiceForUpdate(tx, probe.service);
        const details = detailsOf(probe);
        const changed = before?.status !== probe.status;
        await saveServiceStatus(tx, {
          name: probe.service,
          url: this.deps.serviceUrls[probe.service],
          status: probe.status,
          latencyMs: probe.latencyMs,
          details,
          changed,
        });
        // A service first seen up is not news; first seen down is.
        if (!changed || (!before && probe.status === 'up')) continue;
        await recordStatusChange(tx, probe.service, probe.status, details);
        const event: RegistryEvent = {
          event: probe.status === 'up' ? 'service.recovered' : `service.${probe.status}`,
          service: probe.service,
          details: { before: before?.status ?? 'unknown', ...details },
        };
        await recordAudit(tx, {
          actorType: 'system',
          actorId: 'service-registry',
          action: event.event,
          targetType: 'service',
          targetId: probe.service,
          details: event.details,
        });
        events.push(event);
      }
    });
    const breakers = this.deps.breakerStates();
    for (const [upstream, state] of Object.entries(breakers)) {
      if (state === 'open' && this.breakersBefore[upstream] !== 'open') {
        const event: RegistryEvent = { event: 'breaker.opened', service: upstream, details: { observedBy: 'admin' } };
        await recordAudit(this.deps.db, {
          actorType: 'system',
          actorId: 'service-registry',
          action: event.event,
          targetType: 'service',
          targetId: upstream,
          details: event.details,
        });
        events.push(event);
      }
    }
    this.breakersBefore = breakers;
    for (const event of events) {
      this.deps.logger.warn(`console warning: ${event.event} ${event.service}`, { event: event.event, service: event.service, ...event.details });
      this.deps.alerts.send({ ...event });
    }
  }
}

function detailsOf(probe: ServiceProbe): Record<string, unknown> {
  return {
    ...(probe.httpStatus !== undefined ? { httpStatus: probe.httpStatus } : {}),
    ...(probe.error ? { error: probe.error } : {}),
    ...(probe.degraded ? { degraded: probe.degraded } : {}),
  };
}

const DAY_MS = 24 * 60 * 60_000;

export interface ServiceHistory {
  service: string;
  from: Date;
  to: Date;
  /** Share of the range not inside a `down` incident (a degraded service still serves), in percent. */
  uptimePercent: number;
  degradedPercent: number;
  incidents: Array<{ status: 'down' | 'degraded'; startedAt: Date; endedAt: Date | null; durationMs: number }>;
}

/** Uptime and incidents of a service over [from, to): incidents are clipped to the range. */
export async function serviceHistory(db: Queryable, name: string, from: Date, to: Date): Promise<ServiceHistory> {
  if (!(await findService(db, name))) throw new NotFoundError(`No service named ${JSON.stringify(name)} has been polled`, ErrorCode.SERVICE_NOT_FOUND);
  const incidents = await incidentsBetween(db, name, from, to);
  const now = Date.now();
  const total = to.getTime() - from.getTime();
  let downMs = 0;
  let degradedMs = 0;
  const clipped = incidents.map((incident) => {
    const start = Math.max(incident.startedAt.getTime(), from.getTime());
    const end = Math.min(incident.endedAt?.getTime() ?? now, to.getTime());
    const durationMs = Math.max(0, end - start);
    if (incident.status === 'down') downMs += durationMs;
    else degradedMs += durationMs;
    return { status: incident.status, startedAt: incident.startedAt, endedAt: incident.endedAt, durationMs };
  });
  const percent = (ms: number) => Math.round((ms / total) * 100_000) / 1_000;
  return { service: name, from, to, uptimePercent: percent(total - downMs), degradedPercent: percent(degradedMs), incidents: clipped };
}

/** Every polled service with its uptime over the last 24 hours and this process's breaker towards it. */
export async function serviceOverview(db: Queryable, breakerStates: Record<string, BreakerState>) {
  const services = await listServices(db);
  const to = new Date();
  const from = new Date(to.getTime() - DAY_MS);
  return Promise.all(
    services.map(async (service: ServiceRecord) => ({
      ...service,
      breaker: breakerStates[service.name] ?? null,
      uptime24hPercent: (await serviceHistory(db, service.name, from, to)).uptimePercent,
    })),
  );
}
