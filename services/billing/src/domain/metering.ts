import { AppError, ConflictError, ErrorCode, withTransaction, type Pool, type Queryable, type UsageEventRecord, type UsageReportAnswer } from '@codex/shared';
import {
  claimTransactions,
  createEventPartition,
  dropEventPartition,
  insertMetric,
  listEventPartitions,
  listMetrics,
  readUsage,
  storeEvents,
  type Granularity,
  type MetricRow,
  type StoredEvent,
} from '../db/usage-repo';

/** How far ahead an event's time may be (clocks of tenant apps drift). */
const MAX_FUTURE_MS = 5 * 60_000;
/** Partitions kept ready ahead of the current month. */
const MONTHS_AHEAD = 3;

const monthStart = (at: Date, offsetMonths = 0) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offsetMonths, 1));

/** The first instant whose events are still kept. */
export const retentionStart = (retentionMonths: number, now = new Date()) => monthStart(now, -retentionMonths);

/** PostgreSQL's "no partition of relation found for row" (the pool may have wrapped it in a ValidationError). */
const isMissingPartition = (err: unknown): boolean => {
  const pgError = ((err as { cause?: unknown }).cause ?? err) as { code?: string; message?: string };
  return pgError.code === '23514' && /no partition/.test(String(pgError.message));
};

/**
 * Stores events, creating a month's partition first if the maintenance job
 * has not (a new install's first month, a job that has not run yet).
 */
async function store(db: Pool, events: StoredEvent[]): Promise<number> {
  try {
    return await storeEvents(db, events);
  } catch (err) {
    if (!isMissingPartition(err)) throw err;
    for (const month of new Set(events.map((e) => monthStart(e.occurredAt).getTime()))) await createEventPartition(db, new Date(month));
    return storeEvents(db, events);
  }
}

/** A gateway's batch: events outside the kept window are refused one by one, the rest stored once each. */
export async function ingestGatewayEvents(db: Pool, events: UsageEventRecord[], retentionMonths: number): Promise<UsageReportAnswer> {
  const now = Date.now();
  const earliest = retentionStart(retentionMonths).getTime();
  const kept = events.flatMap((event): StoredEvent[] => {
    const occurredAt = new Date(event.occurredAt);
    if (occurredAt.getTime() < earliest || occurredAt.getTime() > now + MAX_FUTURE_MS) return [];
    return [{ tenantId: event.tenantId, source: 'gateway', eventId: event.id, occurredAt, code: event.code, properties: event.properties }];
  });
  const accepted = await store(db, kept);
  return { accepted, duplicates: kept.length - accepted, rejected: events.length - kept.length };
}

export interface TenantEvent {
  code: string;
  transactionId: string;
  timestamp?: string;
  properties: Record<string, string | number | boolean | null>;
}

/**
 * A tenant's own billable events, idempotent on `transactionId`: a retry
 * (with or without the same time) counts once. Times outside the kept
 * window, or ahead of now, are refused with 422 and nothing is stored.
 */
export async function ingestTenantEvents(db: Pool, tenantId: string, events: TenantEvent[], retentionMonths: number): Promise<UsageReportAnswer> {
  const now = new Date();
  const earliest = retentionStart(retentionMonths, now);
  const ids = new Set<string>();
  const issues: Array<{ path: string; message: string }> = [];
  const timed = events.map((event, index) => {
    const occurredAt = event.timestamp ? new Date(event.timestamp) : now;
    if (occurredAt < earliest)
      issues.push({ path: `events.${index}.timestamp`, message: `must be on or after ${earliest.toISOString()} (usage is kept ${retentionMonths} months)` });
    if (occurredAt.getTime() > now.getTime() + MAX_FUTURE_MS) issues.push({ path: `events.${index}.timestamp`, message: 'must not be in the future' });
    if (ids.has(event.transactionId)) issues.push({ path: `events.${index}.transactionId`, message: 'appears twice in this report' });
    ids.add(event.transactionId);
    return { event, occurredAt };
  });
  if (issues.length > 0) throw new AppError(ErrorCode.VALIDATION_FAILED, 422, 'Some events cannot be recorded', issues);
  return withTransaction(db, async (tx) => {
    const fresh = await claimTransactions(
      tx,
      tenantId,
      timed.map(({ event, occurredAt }) => ({ transactionId: event.transactionId, occurredAt })),
    );
    const stored = timed
      .filter(({ event }) => fresh.has(event.transactionId))
      .map(
        ({ event, occurredAt }): StoredEvent => ({
          tenantId,
          source: 'tenant',
          eventId: event.transactionId,
          occurredAt,
          code: event.code,
          properties: event.properties,
        }),
      );
    await storeInTransaction(tx, stored);
    return { accepted: stored.length, duplicates: events.length - stored.length, rejected: 0 };
  });
}

/** Inside a transaction a failed statement ends it, so the month's partition is made first. */
async function storeInTransaction(tx: Queryable, events: StoredEvent[]): Promise<void> {
  const existing = new Set((await listEventPartitions(tx)).map((p) => p.month.getTime()));
  for (const month of new Set(events.map((e) => monthStart(e.occurredAt).getTime()))) if (!existing.has(month)) await createEventPartition(tx, new Date(month));
  await storeEvents(tx, events);
}

/**
 * The partitions job: the current month and MONTHS_AHEAD after it exist, and
 * months past retention are dropped whole. Answers what it did.
 */
export async function maintainPartitions(db: Pool, retentionMonths: number, now = new Date()): Promise<{ created: string[]; dropped: string[] }> {
  const partitions = await listEventPartitions(db);
  const existing = new Set(partitions.map((p) => p.month.getTime()));
  const created: string[] = [];
  for (let offset = 0; offset <= MONTHS_AHEAD; offset++) {
    const month = monthStart(now, offset);
    if (existing.has(month.getTime())) continue;
    await createEventPartition(db, month);
    created.push(month.toISOString().slice(0, 7));
  }
  const earliest = retentionStart(retentionMonths, now).getTime();
  const dropped: string[] = [];
  for (const partition of partitions) {
    if (partition.month.getTime() >= earliest) continue;
    await dropEventPartition(db, partition);
    dropped.push(partition.name);
  }
  return { created, dropped };
}

export interface UsageSeries {
  code: string;
  name: string;
  aggregation: MetricRow['aggregation'];
  total: number;
  series: Array<{ start: string; value: number }>;
}

export interface UsageRange {
  from: Date;
  to: Date;
  granularity: Granularity;
  metric?: string;
}

/** The most buckets one read may answer per metric. */
const MAX_BUCKETS = 1_000;

/** Whole hours covering [from, to): aggregates are hourly. */
export function hourRange(from: Date, to: Date): { from: Date; to: Date } {
  const hour = 3_600_000;
  return { from: new Date(Math.floor(from.getTime() / hour) * hour), to: new Date(Math.ceil(to.getTime() / hour) * hour) };
}

function checkRange(range: UsageRange): { from: Date; to: Date } {
  if (range.to <= range.from)
    throw new AppError(ErrorCode.VALIDATION_FAILED, 400, '`to` must be after `from`', [{ path: 'to', message: 'must be after from' }]);
  const hours = hourRange(range.from, range.to);
  const buckets = (hours.to.getTime() - hours.from.getTime()) / (range.granularity === 'day' ? 86_400_000 : 3_600_000);
  if (range.granularity !== 'total' && buckets > MAX_BUCKETS)
    throw new AppError(ErrorCode.VALIDATION_FAILED, 400, `At most ${MAX_BUCKETS} ${range.granularity}s per read`, [
      { path: 'granularity', message: `the range holds ${Math.ceil(buckets)} ${range.granularity}s; read a shorter range or a coarser granularity` },
    ]);
  return hours;
}

/**
 * One tenant's usage per metric (every metric, zero where nothing was used),
 * with the range's total: one scan of the hourly aggregates gives the series,
 * and the totals of counts, sums and maxima follow from it; only unique
 * counts need a scan of their own (distinct values do not add up).
 */
export async function tenantUsage(db: Queryable, tenantId: string, range: UsageRange): Promise<{ from: string; to: string; metrics: UsageSeries[] }> {
  const hours = checkRange(range);
  const metrics = (await listMetrics(db)).filter((m) => !range.metric || m.code === range.metric);
  const uniques = metrics.some((m) => m.aggregation === 'unique_count');
  const granularity = range.granularity === 'total' ? 'hour' : range.granularity;
  const [buckets, uniqueTotals] = await Promise.all([
    readUsage(db, { tenantId, ...hours, granularity, metric: range.metric, uniques }),
    uniques ? readUsage(db, { tenantId, ...hours, granularity: 'total', metric: range.metric, uniques }) : Promise.resolve([]),
  ]);
  return {
    from: hours.from.toISOString(),
    to: hours.to.toISOString(),
    metrics: metrics.map((metric) => {
      const series = buckets.filter((b) => b.metric === metric.code);
      const total =
        metric.aggregation === 'unique_count'
          ? (uniqueTotals.find((t) => t.metric === metric.code)?.value ?? 0)
          : metric.aggregation === 'max'
            ? series.length === 0
              ? 0
              : Math.max(...series.map((b) => b.value))
            : series.reduce((sum, b) => sum + b.value, 0);
      return {
        code: metric.code,
        name: metric.name,
        aggregation: metric.aggregation,
        total,
        series: range.granularity === 'total' ? [] : series.map((b) => ({ start: b.bucket!.toISOString(), value: b.value })),
      };
    }),
  };
}

/** Every tenant's totals per metric over the range, and the platform's totals (unique counts add up per tenant). */
export async function platformUsage(
  db: Queryable,
  range: Omit<UsageRange, 'granularity'> & { tenantId?: string },
): Promise<{ from: string; to: string; items: Array<{ tenantId: string; metrics: Record<string, number> }>; totals: Record<string, number> }> {
  const hours = checkRange({ ...range, granularity: 'total' });
  const rows = await readUsage(db, { tenantId: range.tenantId ?? null, ...hours, granularity: 'total', metric: range.metric, uniques: true });
  const byTenant = new Map<string, Record<string, number>>();
  const totals: Record<string, number> = {};
  const isMaximum = new Set<string>();
  for (const metric of await listMetrics(db)) {
    if (range.metric && metric.code !== range.metric) continue;
    totals[metric.code] = 0;
    if (metric.aggregation === 'max') isMaximum.add(metric.code);
  }
  for (const row of rows) {
    const metrics = byTenant.get(row.tenantId) ?? {};
    metrics[row.metric] = row.value;
    byTenant.set(row.tenantId, metrics);
    const sofar = totals[row.metric] ?? 0;
    totals[row.metric] = isMaximum.has(row.metric) ? Math.max(sofar, row.value) : sofar + row.value;
  }
  return {
    from: hours.from.toISOString(),
    to: hours.to.toISOString(),
    items: [...byTenant].map(([tenantId, metrics]) => ({ tenantId, metrics })),
    totals,
  };
}

export const metrics = (db: Queryable) => listMetrics(db);

/** A new billable metric; it counts events stored from now on (aggregates are built at ingest). */
export async function createMetric(db: Queryable, metric: Omit<MetricRow, 'createdAt'>): Promise<MetricRow> {
  const created = await insertMetric(db, metric);
  if (!created) throw new ConflictError(`A metric with code ${metric.code} exists`, undefined, ErrorCode.METRIC_EXISTS);
  return created;
}
