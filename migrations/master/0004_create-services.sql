-- Registry of platform services and their last observed health.
CREATE TABLE IF NOT EXISTS services (
  name text PRIMARY KEY CONSTRAINT services_name_format CHECK (name ~ '^[a-z][a-z0-9-]{0,39}$'),
  url text NOT NULL,
  status text NOT NULL DEFAULT 'unknown' CONSTRAINT services_status_check CHECK (status IN ('unknown', 'up', 'down', 'degraded')),
  version text,
  last_checked_at timestamptz,
  last_latency_ms integer,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER services_set_updated_at BEFORE UPDATE ON services
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
