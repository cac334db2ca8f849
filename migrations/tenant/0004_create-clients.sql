-- The tenant's customers: companies or people. Owned by the client service.
CREATE TABLE IF NOT EXISTS clients (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL DEFAULT 'company' CONSTRAINT clients_kind_check CHECK (kind IN ('company', 'person')),
  name text NOT NULL CONSTRAINT clients_name_length CHECK (char_length(name) BETWEEN 1 AND 300),
  email text CONSTRAINT clients_email_length CHECK (char_length(email) <= 254),
  phone text CONSTRAINT clients_phone_length CHECK (char_length(phone) <= 50),
  status text NOT NULL DEFAULT 'active' CONSTRAINT clients_status_check CHECK (status IN ('lead', 'active', 'inactive')),
  tags text[] NOT NULL DEFAULT '{}',
  owner_id uuid,
  external_id text CONSTRAINT clients_external_id_length CHECK (char_length(external_id) <= 200),
  custom_fields jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Optimistic concurrency: every update must name the version it read.
  version integer NOT NULL DEFAULT 1,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || coalesce(email, ''))) STORED,
  deleted_at timestamptz,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Imports upsert by external id or email, so both are unique among live clients.
CREATE UNIQUE INDEX IF NOT EXISTS clients_external_id_key ON clients (external_id) WHERE external_id IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS clients_email_key ON clients (lower(email)) WHERE email IS NOT NULL AND deleted_at IS NULL;
-- List orders (keyset pagination on sort key + id) and filters.
CREATE INDEX IF NOT EXISTS clients_created_idx ON clients (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS clients_name_idx ON clients (lower(name) text_pattern_ops, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS clients_status_created_idx ON clients (status, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS clients_owner_created_idx ON clients (owner_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS clients_tags_idx ON clients USING gin (tags) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS clients_search_idx ON clients USING gin (search) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS clients_email_prefix_idx ON clients (lower(email) text_pattern_ops) WHERE deleted_at IS NULL;

CREATE OR REPLACE TRIGGER clients_set_updated_at BEFORE UPDATE ON clients
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
