-- Tenant archives imported as new tenants (#14): the archive is checked whole before anything is made,
-- then loaded in the background; this row is the job the operator follows.
CREATE TABLE IF NOT EXISTS tenant_imports (
  id uuid PRIMARY KEY,
  status text NOT NULL CONSTRAINT tenant_imports_status_check CHECK (status IN ('running', 'completed', 'failed')),
  slug text NOT NULL,
  name text NOT NULL,
  source_tenant_id uuid,
  -- The tenant the import made; when the import failed, that tenant was removed again (so no foreign key).
  tenant_id uuid,
  rows_total bigint NOT NULL,
  rows_loaded bigint NOT NULL DEFAULT 0,
  failure text,
  -- The new tenant's first API key, sealed with SECRETS_KEYS, until the job has been read once after it finished.
  api_key_sealed text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

CREATE INDEX IF NOT EXISTS tenant_imports_created_idx ON tenant_imports (created_at DESC);
