-- The service registry (#14): the admin service polls every service's /health and keeps `services`
-- current; each time a service goes down or degraded an incident opens, and it closes when the service is
-- up again. Uptime over any range is computed from the incidents.
ALTER TABLE services ADD COLUMN IF NOT EXISTS status_since timestamptz;

CREATE TABLE IF NOT EXISTS service_incidents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  service text NOT NULL,
  status text NOT NULL CONSTRAINT service_incidents_status_check CHECK (status IN ('down', 'degraded')),
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  CONSTRAINT service_incidents_order CHECK (ended_at IS NULL OR ended_at >= started_at)
);

CREATE INDEX IF NOT EXISTS service_incidents_service_idx ON service_incidents (service, started_at DESC);
-- At most one open incident per service.
CREATE UNIQUE INDEX IF NOT EXISTS service_incidents_open_key ON service_incidents (service) WHERE ended_at IS NULL;
