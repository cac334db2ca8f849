-- TOTP multi-factor sign-in for platform admins (#14). The secret is sealed with SECRETS_KEYS (the database
-- never holds it in the clear); a pending secret waits for its first code before it replaces nothing.
ALTER TABLE admins
  ADD COLUMN IF NOT EXISTS mfa_secret text,
  ADD COLUMN IF NOT EXISTS mfa_pending_secret text,
  ADD COLUMN IF NOT EXISTS mfa_enabled_at timestamptz,
  -- The newest TOTP time step accepted: a code works once, even within its 30 seconds.
  ADD COLUMN IF NOT EXISTS mfa_last_step bigint;

CREATE TABLE IF NOT EXISTS admin_recovery_codes (
  admin_id uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
  -- SHA-256 of the code (80 random bits); the codes are shown once, when made.
  code_hash text NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (admin_id, code_hash)
);

-- Between a correct password and the second factor: a short-lived challenge, locked after five wrong codes.
CREATE TABLE IF NOT EXISTS admin_mfa_challenges (
  token_hash text PRIMARY KEY,
  admin_id uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
  -- 'verify': the admin has MFA; 'enrol': the platform requires MFA and the admin has none yet.
  purpose text NOT NULL CONSTRAINT admin_mfa_challenges_purpose_check CHECK (purpose IN ('verify', 'enrol')),
  failed_attempts integer NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS admin_mfa_challenges_admin_idx ON admin_mfa_challenges (admin_id);
CREATE INDEX IF NOT EXISTS admin_mfa_challenges_expires_idx ON admin_mfa_challenges (expires_at);
