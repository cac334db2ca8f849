import {
  ErrorCode,
  NotFoundError,
  Poller,
  probeService,
  recordAudit,
  SERVICE_NAMES,
  withTransaction,
  type AuditWriter,
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
  /** Subscribes to this process's circuit breakers towards the other services (ServiceClients.onStateChange). */
  onBreakerChange: (listener: (upstream: ServiceName, to: BreakerState) => void) => void;
  /** How often every service is polled; 0: only when `poll` is called. */
  pollMs: number;
  alerts: AlertWebhook;
  logger: Logger;
  /** Each /health must answer within this (default 2 s). */
  timeoutMs?: number;
  /** Stand-alone entries (a breaker, a database server): written even when they cannot be at once. */
  audit: Pick<AuditWriter, 'append'>;
  /** The PostgreSQL servers to watch (the default one first); read each round, the last list kept if that read fails. */
  databaseServers?: () => Promise<Array<{ name: string; url: string }>>;
  /** Answers what is wrong with a database server, or undefined when it serves. */
  probeDatabase?: (url: string) => Promise<string | undefined>;
}

interface RegistryEvent {
  event: 'service.down' | 'service.degraded' | 'service.recovered' | 'breaker.opened' | 'database.unreachable' | 'database.reachable';
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
  private readonly poller: Poller;
  /** Each watched database server's last state, in this process (the master itself may be the one down). */
  private readonly databaseStates = new Map<string, 'up' | 'down'>();
  private watchedServers: Array<{ name: string; url: string }> = [];

  constructor(private readonly deps: RegistryDeps) {
    this.poller = new Poller(() => this.round(), deps.pollMs, { logger: deps.logger, message: 'service registry poll failed', level: 'warn' });
    // A breaker of this process that opens is news at once, not at the next poll.
    deps.onBreakerChange((upstream, to) => {
      if (to === 'open') void this.breakerOpened(upstream).catch((err: unknown) => deps.logger.warn('breaker alert not recorded', { err, upstream }));
    });
  }

  start(): void {
    this.poller.start({ immediately: true });
  }

  stop(): void {
    this.poller.stop();
  }

  /** One round: every service probed, changes recorded, then told (tests call it directly). */
  poll(): Promise<void> {
    return this.poller.runNow();
  }

  private async breakerOpened(upstream: string): Promise<void> {
    const event: RegistryEvent = { event: 'breaker.opened', service: upstream, details: { observedBy: 'admin' } };
    await this.deps.audit.append({
      actorType: 'system',
      actorId: 'service-registry',
      action: event.event,
      targetType: 'service',
      targetId: upstream,
      details: event.details,
    });
    this.tell(event);
  }

  private tell(event: RegistryEvent): void {
    this.deps.logger.warn(`console warning: ${event.event} ${event.service}`, { event: event.event, service: event.service, ...event.details });
    this.deps.alerts.send({ ...event });
  }

  /**
   * Probes every database server; one that stops answering (or answers again) is told like a service,
   * its audit entry buffered when the server is the master's. Done before the services' round, which
   * needs the master.
   */
  private async watchDatabases(): Promise<void> {
    if (!this.deps.databaseServers || !this.deps.probeDatabase) return;
    this.watchedServers = await this.deps.databaseServers().catch(() => this.watchedServers);
    const probe = this.deps.probeDatabase;
    const results = await Promise.all(this.watchedServers.map(async (server) => ({ server: server.name, problem: await probe(server.url) })));
    for (const { server, problem } of results) {
      const status = problem ? 'down' : 'up';
      const before = this.databaseStates.get(server);
      this.databaseStates.set(server, status);
      // First seen up is not news; first seen down is.
      if (before === status || (!before && status === 'up')) continue;
      const event: RegistryEvent = {
        event: status === 'down' ? 'database.unreachable' : 'database.reachable',
        service: `postgres:${server}`,
        details: { server, ...(problem ? { error: problem } : {}) },
      };
      await this.deps.audit.append({
        actorType: 'system',
        actorId: 'service-registry',
        action: event.event,
        targetType: 'database_server',
        targetId: server,
        details: event.details,
      });
      this.tell(event);
    }
  }

  private async round(): Promise<void> {
    await this.watchDatabases();
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
    for (const event of events) this.tell(event);
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
