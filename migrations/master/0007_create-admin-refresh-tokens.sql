-- Refresh tokens of platform admins: opaque, stored as SHA-256, rotated on every use.
-- A family is one login; presenting a spent token revokes the whole family.
CREATE TABLE IF NOT EXISTS admin_refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  admin_id uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
  family_id uuid NOT NULL,
  token_hash text NOT NULL CONSTRAINT admin_refresh_tokens_hash_key UNIQUE,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS admin_refresh_tokens_family_idx ON admin_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS admin_refresh_tokens_admin_idx ON admin_refresh_tokens (admin_id);

CREATE OR REPLACE TRIGGER admin_refresh_tokens_set_updated_at BEFORE UPDATE ON admin_refresh_tokens
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
