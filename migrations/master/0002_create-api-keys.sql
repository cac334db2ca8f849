-- Tenant API keys. The key itself is shown once at creation; only its SHA-256 is kept
-- (keys are 256-bit random, so a fast hash is safe and lets the gateway look them up per request).
CREATE TABLE IF NOT EXISTS api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name text NOT NULL DEFAULT 'default' CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
  -- Visible start of the key, so operators can tell keys apart without the secret.
  prefix text NOT NULL CONSTRAINT api_keys_prefix_key UNIQUE,
  key_hash text NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC);

CREATE OR REPLACE TRIGGER api_keys_set_updated_at BEFORE UPDATE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
