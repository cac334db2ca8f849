-- Platform administrators (the CDXPharaoh console's users).
CREATE TABLE IF NOT EXISTS admins (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CONSTRAINT admins_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
  name text NOT NULL DEFAULT '',
  password_hash text NOT NULL,
  role text NOT NULL DEFAULT 'viewer'
    CONSTRAINT admins_role_check CHECK (role IN ('super_admin', 'admin', 'support', 'viewer')),
  status text NOT NULL DEFAULT 'active' CONSTRAINT admins_status_check CHECK (status IN ('active', 'disabled')),
  -- Encrypted TOTP seed once MFA is enrolled.
  mfa_secret text,
  last_login_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS admins_email_key ON admins (lower(email));

CREATE OR REPLACE TRIGGER admins_set_updated_at BEFORE UPDATE ON admins
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
