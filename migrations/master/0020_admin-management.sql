-- Platform admins managed through the API (#14): an admin made by another, or whose password was reset, has
-- no password until they set one with a one-time token, so the change is forced before their next sign-in.
ALTER TABLE admins ALTER COLUMN password_hash DROP NOT NULL;

CREATE TABLE IF NOT EXISTS admin_password_tokens (
  -- SHA-256 of the token; the token itself is shown once, to the admin who asked for it.
  token_hash text PRIMARY KEY,
  admin_id uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
  purpose text NOT NULL CONSTRAINT admin_password_tokens_purpose_check CHECK (purpose IN ('invite', 'reset')),
  created_by text,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS admin_password_tokens_admin_idx ON admin_password_tokens (admin_id);
