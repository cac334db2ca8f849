-- Usage metering, owned by the billing service. Raw events are kept for a configurable number of months
-- (USAGE_RETENTION_MONTHS) in monthly partitions, so retention drops a partition instead of deleting rows;
-- every read of usage goes to the hourly aggregates, which ingest keeps current in the same statement
-- that stores the events, so an aggregate always counts exactly the stored events.

-- What is billed and how an event feeds it (Lago's billable metrics): count events of a code, or sum,
-- take the maximum of, or count the distinct values of one of their properties.
CREATE TABLE IF NOT EXISTS billable_metrics (
  code text PRIMARY KEY CONSTRAINT billable_metrics_code_format CHECK (code ~ '^[a-z][a-z0-9_]{0,62}$'),
  name text NOT NULL CONSTRAINT billable_metrics_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
  event_code text NOT NULL CONSTRAINT billable_metrics_event_code_format CHECK (event_code ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  aggregation text NOT NULL CONSTRAINT billable_metrics_aggregation_check CHECK (aggregation IN ('count', 'sum', 'max', 'unique_count')),
  -- The property summed, maximised or counted; none for a count.
  field text CONSTRAINT billable_metrics_field_format CHECK (field ~ '^[A-Za-z][A-Za-z0-9_]{0,62}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT billable_metrics_field_needed CHECK ((aggregation = 'count') = (field IS NULL))
);

CREATE INDEX IF NOT EXISTS billable_metrics_event_code_idx ON billable_metrics (event_code);

-- The gateway reports one `api_request` event per proxied request.
INSERT INTO billable_metrics (code, name, event_code, aggregation, field) VALUES
  ('api_calls', 'API calls', 'api_request', 'count', NULL),
  ('egress_bytes', 'Bytes sent to callers', 'api_request', 'sum', 'bytesOut'),
  ('ingress_bytes', 'Bytes received from callers', 'api_request', 'sum', 'bytesIn')
  ON CONFLICT DO NOTHING;

-- Raw events. The key holds the event's time because a unique key of a partitioned table must hold the
-- partition key: the gateway fixes an event's id and time together when it makes it, so a replay meets
-- the same key; a tenant's own events are deduplicated by `usage_transactions` first.
CREATE TABLE IF NOT EXISTS usage_events (
  tenant_id uuid NOT NULL,
  source text NOT NULL CONSTRAINT usage_events_source_check CHECK (source IN ('gateway', 'tenant')),
  event_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  code text NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}'::jsonb,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, source, event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- The months around the install are created here; the billing service keeps creating them ahead.
DO $$
DECLARE
  month date;
BEGIN
  FOR offset_months IN -1..2 LOOP
    month := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => offset_months))::date;
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
      'usage_events_' || to_char(month, 'YYYY_MM'),
      month::text || ' 00:00:00+00',
      (month + interval '1 month')::date::text || ' 00:00:00+00');
  END LOOP;
END
$$;

-- A tenant's transaction ids, so a retried report counts once whatever time it carries.
CREATE TABLE IF NOT EXISTS usage_transactions (
  tenant_id uuid NOT NULL,
  transaction_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, transaction_id)
);

CREATE INDEX IF NOT EXISTS usage_transactions_occurred_idx ON usage_transactions (occurred_at);

-- Per tenant, metric and hour: the sum of the values (the event count for a count, new distinct values
-- for a unique count), their maximum, and how many events fed them.
CREATE TABLE IF NOT EXISTS usage_aggregates (
  tenant_id uuid NOT NULL,
  metric text NOT NULL,
  hour timestamptz NOT NULL,
  total numeric NOT NULL DEFAULT 0,
  maximum numeric,
  events bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, metric, hour)
);

CREATE INDEX IF NOT EXISTS usage_aggregates_metric_hour_idx ON usage_aggregates (metric, hour);

-- The distinct values of unique-count metrics, per hour, so a distinct count over any range reads these.
CREATE TABLE IF NOT EXISTS usage_unique_values (
  tenant_id uuid NOT NULL,
  metric text NOT NULL,
  hour timestamptz NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (tenant_id, metric, hour, value)
);
