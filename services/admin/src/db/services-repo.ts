import type { ProbedStatus, Queryable } from '@codex/shared';

export interface ServiceRecord {
  name: string;
  url: string;
  status: ProbedStatus | 'unknown';
  statusSince: Date | null;
  lastCheckedAt: Date | null;
  latencyMs: number | null;
  details: Record<string, unknown>;
}

export interface Incident {
  service: string;
  status: 'down' | 'degraded';
  startedAt: Date;
  endedAt: Date | null;
  details: Record<string, unknown>;
}

interface ServiceRow {
  name: string;
  url: string;
  status: ProbedStatus | 'unknown';
  status_since: Date | null;
  last_checked_at: Date | null;
  last_latency_ms: number | null;
  details: Record<string, unknown>;
}

const toService = (row: ServiceRow): ServiceRecord => ({
  name: row.name,
  url: row.url,
  status: row.status,
  statusSince: row.status_since,
  lastCheckedAt: row.last_checked_at,
  latencyMs: row.last_latency_ms,
  details: row.details,
});

/**
 * Takes this round of polls for this instance, or answers false when another instance is recording one
 * now: with several admin instances, each status change is recorded (and alerted) once.
 */
export async function takeRegistryTurn(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ taken: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('codex-metatron:service-registry')) AS taken`);
  return rows[0]!.taken;
}

/** The service's row as it was before this poll, locked; undefined the first time it is polled. */
export async function findServiceForUpdate(db: Queryable, name: string): Promise<ServiceRecord | undefined> {
  const { rows } = await db.query<ServiceRow>('SELECT * FROM services WHERE name = $1 FOR UPDATE', [name]);
  return rows[0] && toService(rows[0]);
}

export async function saveServiceStatus(
  db: Queryable,
  probe: { name: string; url: string; status: ProbedStatus; latencyMs: number; details: Record<string, unknown>; changed: boolean },
): Promise<void> {
  await db.query(
    `INSERT INTO services (name, url, status, status_since, last_checked_at, last_latency_ms, details)
     VALUES ($1, $2, $3, now(), now(), $4, $5)
     ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, status = EXCLUDED.status, last_checked_at = now(),
       last_latency_ms = EXCLUDED.last_latency_ms, details = EXCLUDED.details,
       status_since = CASE WHEN $6 THEN now() ELSE coalesce(services.status_since, now()) END`,
    [probe.name, probe.url, probe.status, probe.latencyMs, JSON.stringify(probe.details), probe.changed],
  );
}

/** Closes the service's open incident, if any, and opens one for a new down or degraded status. */
export async function recordStatusChange(db: Queryable, name: string, status: ProbedStatus, details: Record<string, unknown>): Promise<void> {
  await db.query('UPDATE service_incidents SET ended_at = now() WHERE service = $1 AND ended_at IS NULL', [name]);
  if (status !== 'up') {
    await db.query('INSERT INTO service_incidents (service, status, started_at, details) VALUES ($1, $2, now(), $3)', [name, status, JSON.stringify(details)]);
  }
}

export async function listServices(db: Queryable): Promise<ServiceRecord[]> {
  const { rows } = await db.query<ServiceRow>('SELECT * FROM services ORDER BY name');
  return rows.map(toService);
}

export async function findService(db: Queryable, name: string): Promise<ServiceRecord | undefined> {
  const { rows } = await db.query<ServiceRow>('SELECT * FROM services WHERE name = $1', [name]);
  return rows[0] && toService(rows[0]);
}

/** Incidents of the service that overlap [from, to), oldest first. */
export async function incidentsBetween(db: Queryable, name: string, from: Date, to: Date): Promise<Incident[]> {
  const { rows } = await db.query<{ service: string; status: 'down' | 'degraded'; started_at: Date; ended_at: Date | null; details: Record<string, unknown> }>(
    `SELECT service, status, started_at, ended_at, details FROM service_incidents
      WHERE service = $1 AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2) ORDER BY started_at`,
    [name, from, to],
  );
  return rows.map((row) => ({ service: row.service, status: row.status, startedAt: row.started_at, endedAt: row.ended_at, details: row.details }));
}
