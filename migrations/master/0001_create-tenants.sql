-- Shared trigger function: every table keeps updated_at current.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END
$$;

-- One row per tenant application. Public ids are UUIDs so they cannot be enumerated.
CREATE TABLE IF NOT EXISTS tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL CONSTRAINT tenants_slug_key UNIQUE
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z][a-z0-9-]{1,61}[a-z0-9]$'),
  name text NOT NULL CONSTRAINT tenants_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
  status text NOT NULL DEFAULT 'provisioning'
    CONSTRAINT tenants_status_check CHECK (status IN ('provisioning', 'active', 'suspended', 'deleting', 'deleted', 'failed')),
  plan text NOT NULL DEFAULT 'free',
  -- Placement: which configured PostgreSQL server holds the tenant database.
  db_server text NOT NULL DEFAULT 'default',
  db_name text CONSTRAINT tenants_db_name_key UNIQUE
    CONSTRAINT tenants_db_name_format CHECK (db_name ~ '^[a-z_][a-z0-9_]{0,62}$'),
  -- Login role of the tenant database and its password, encrypted (key id stored with the ciphertext).
  db_role text CONSTRAINT tenants_db_role_format CHECK (db_role ~ '^[a-z_][a-z0-9_]{0,62}$'),
  db_secret text,
  settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS tenants_status_created_idx ON tenants (status, created_at DESC);

CREATE OR REPLACE TRIGGER tenants_set_updated_at BEFORE UPDATE ON tenants
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
