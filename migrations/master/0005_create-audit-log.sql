-- Append-only audit trail: rows are never updated, so there is no updated_at.
CREATE TABLE IF NOT EXISTS audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_type text NOT NULL CONSTRAINT audit_log_actor_type_check CHECK (actor_type IN ('admin', 'user', 'service', 'system')),
  actor_id text,
  tenant_id uuid REFERENCES tenants (id) ON DELETE SET NULL,
  action text NOT NULL,
  target_type text,
  target_id text,
  request_id text,
  ip inet,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS audit_log_occurred_idx ON audit_log (occurred_at DESC);
CREATE INDEX IF NOT EXISTS audit_log_tenant_occurred_idx ON audit_log (tenant_id, occurred_at DESC) WHERE tenant_id IS NOT NULL;
