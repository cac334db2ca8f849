import type { Queryable } from '@codex/shared';

/** One event as stored: gateway events by their id, a tenant's by its transaction id. */
export interface StoredEvent {
  tenantId: string;
  source: 'gateway' | 'tenant';
  eventId: string;
  occurredAt: Date;
  code: string;
  properties: Record<string, unknown>;
}

/**
 * Stores the events not stored before and adds them to the hourly aggregates
 * of every metric they feed, in one statement: the aggregates count exactly
 * the stored events, whatever is retried or replayed. Answers how many were new.
 */
export async function storeEvents(db: Queryable, events: StoredEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const { rows } = await db.query<{ stored: string }>(
    `WITH incoming AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[])
         AS e(tenant_id, source, event_id, occurred_at, code, properties)
     ), stored AS (
       INSERT INTO usage_events (tenant_id, source, event_id, occurred_at, code, properties)
       SELECT * FROM incoming ON CONFLICT DO NOTHING
       RETURNING tenant_id, occurred_at, code, properties
     ), contributions AS (
       SELECT s.tenant_id, m.code AS metric, m.aggregation, date_trunc('hour', s.occurred_at) AS hour,
              CASE WHEN m.aggregation = 'count' THEN 1
                   WHEN jsonb_typeof(s.properties -> m.field) = 'number' THEN (s.properties ->> m.field)::numeric END AS value,
              s.properties ->> m.field AS raw
         FROM stored s JOIN billable_metrics m ON m.event_code = s.code
     ), new_values AS (
       INSERT INTO usage_unique_values (tenant_id, metric, hour, value)
       SELECT DISTINCT tenant_id, metric, hour, raw FROM contributions WHERE aggregation = 'unique_count' AND raw IS NOT NULL
       ON CONFLICT DO NOTHING
       RETURNING tenant_id, metric, hour
     ), additions AS (
       SELECT tenant_id, metric, hour, coalesce(sum(value), 0) AS total, max(value) AS maximum, count(value) AS events
         FROM contributions WHERE aggregation <> 'unique_count' AND value IS NOT NULL GROUP BY 1, 2, 3
       UNION ALL
       SELECT tenant_id, metric, hour, count(*), NULL, count(*) FROM new_values GROUP BY 1, 2, 3
     ), aggregated AS (
       INSERT INTO usage_aggregates AS a (tenant_id, metric, hour, total, maximum, events)
       SELECT * FROM additions
       ON CONFLICT (tenant_id, metric, hour) DO UPDATE SET
         total = a.total + EXCLUDED.total,
         maximum = greatest(a.maximum, EXCLUDED.maximum),
         events = a.events + EXCLUDED.events
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM stored) AS stored, (SELECT count(*) FROM aggregated) AS aggregated`,
    [
      events.map((e) => e.tenantId),
      events.map((e) => e.source),
      events.map((e) => e.eventId),
      events.map((e) => e.occurredAt),
      events.map((e) => e.code),
      events.map((e) => JSON.stringify(e.properties)),
    ],
  );
  return Number(rows[0]!.stored);
}

/**
 * Claims a tenant's transaction ids; answers those not seen before, with the
 * time each was first reported (a retry keeps the first time).
 */
export async function claimTransactions(db: Queryable, tenantId: string, claims: Array<{ transactionId: string; occurredAt: Date }>): Promise<Set<string>> {
  const { rows } = await db.query<{ transaction_id: string }>(
    `INSERT INTO usage_transactions (tenant_id, transaction_id, occurred_at)
     SELECT $1, * FROM unnest($2::text[], $3::timestamptz[])
     ON CONFLICT DO NOTHING RETURNING transaction_id`,
    [tenantId, claims.map((c) => c.transactionId), claims.map((c) => c.occurredAt)],
  );
  return new Set(rows.map((row) => row.transaction_id));
}

/** The monthly partitions of `usage_events` by their first day (UTC). */
export async function listEventPartitions(db: Queryable): Promise<Array<{ name: string; month: Date }>> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'usage_events'::regclass ORDER BY c.relname`,
  );
  return rows.flatMap(({ name }) => {
    const match = /^usage_events_(\d{4})_(\d{2})$/.exec(name);
    return match ? [{ name, month: new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)) }] : [];
  });
}

const partitionName = (month: Date) => `usage_events_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;

/** Creates the partition of the month starting at `month` unless it exists. */
export async function createEventPartition(db: Queryable, month: Date): Promise<void> {
  const next = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
  // Names and bounds come from a Date, never from input.
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${partitionName(month)} PARTITION OF usage_events
       FOR VALUES FROM ('${month.toISOString()}') TO ('${next.toISOString()}')`,
  );
}

/** Drops a partition and forgets the transaction ids of its time: both are past retention. */
export async function dropEventPartition(db: Queryable, partition: { name: string; month: Date }): Promise<void> {
  const next = new Date(Date.UTC(partition.month.getUTCFullYear(), partition.month.getUTCMonth() + 1, 1));
  await db.query(`DROP TABLE IF EXISTS ${partitionName(partition.month)}`);
  await db.query(`DELETE FROM usage_transactions WHERE occurred_at < $1`, [next]);
}

export interface MetricRow {
  code: string;
  name: string;
  eventCode: string;
  aggregation: 'count' | 'sum' | 'max' | 'unique_count';
  field: string | null;
  createdAt: string;
}

interface MetricRecord {
  code: string;
  name: string;
  event_code: string;
  aggregation: MetricRow['aggregation'];
  field: string | null;
  created_at: Date;
}

const toMetric = (row: MetricRecord): MetricRow => ({
  code: row.code,
  name: row.name,
  eventCode: row.event_code,
  aggregation: row.aggregation,
  field: row.field,
  createdAt: row.created_at.toISOString(),
});

export async function listMetrics(db: Queryable): Promise<MetricRow[]> {
  const { rows } = await db.query<MetricRecord>('SELECT * FROM billable_metrics ORDER BY code');
  return rows.map(toMetric);
}

/** Inserts a metric; undefined when the code is taken. */
export async function insertMetric(db: Queryable, metric: Omit<MetricRow, 'createdAt'>): Promise<MetricRow | undefined> {
  const { rows } = await db.query<MetricRecord>(
    `INSERT INTO billable_metrics (code, name, event_code, aggregation, field) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING *`,
    [metric.code, metric.name, metric.eventCode, metric.aggregation, metric.field],
  );
  return rows[0] && toMetric(rows[0]);
}

export type Granularity = 'hour' | 'day' | 'total';

export interface UsageBucket {
  metric: string;
  /** Start of the hour or day (UTC); null for the whole range. */
  bucket: Date | null;
  value: number;
}

/**
 * Usage of the metrics per bucket, read from the aggregates only: sums and
 * counts add up, maxima take the largest, unique counts count distinct values
 * across the bucket. `tenantId` null reads every tenant, per tenant. Unique
 * counts are read only when `uniques` names such metrics (a second, distinct scan).
 */
export async function readUsage(
  db: Queryable,
  filter: { tenantId: string | null; from: Date; to: Date; granularity: Granularity; metric?: string; uniques: boolean },
): Promise<Array<UsageBucket & { tenantId: string }>> {
  // date_bin is plain arithmetic on UTC instants (date_trunc with a time zone looks the zone up per row).
  const bucket = filter.granularity === 'total' ? 'NULL::timestamptz' : `date_bin('1 ${filter.granularity}', a.hour, TIMESTAMPTZ '2000-01-01 00:00:00+00')`;
  const uniques = filter.uniques
    ? `UNION ALL
     SELECT a.tenant_id, a.metric, ${bucket} AS bucket, count(DISTINCT a.value) AS value
       FROM usage_unique_values a
      WHERE ($1::uuid IS NULL OR a.tenant_id = $1) AND a.hour >= $2 AND a.hour < $3 AND ($4::text IS NULL OR a.metric = $4)
      GROUP BY a.tenant_id, a.metric, 3`
    : '';
  const { rows } = await db.query<{ tenant_id: string; metric: string; bucket: Date | null; value: string }>(
    `SELECT a.tenant_id, a.metric, ${bucket} AS bucket,
            CASE WHEN m.aggregation = 'max' THEN max(a.maximum) ELSE sum(a.total) END AS value
       FROM usage_aggregates a JOIN billable_metrics m ON m.code = a.metric
      WHERE ($1::uuid IS NULL OR a.tenant_id = $1) AND a.hour >= $2 AND a.hour < $3
        AND m.aggregation <> 'unique_count' AND ($4::text IS NULL OR a.metric = $4)
      GROUP BY a.tenant_id, a.metric, m.aggregation, 3
     ${uniques}
     ORDER BY 1, 2, 3`,
    [filter.tenantId, filter.from, filter.to, filter.metric ?? null],
  );
  return rows.map((row) => ({ tenantId: row.tenant_id, metric: row.metric, bucket: row.bucket, value: Number(row.value) }));
}
