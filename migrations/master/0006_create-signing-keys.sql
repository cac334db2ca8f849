-- Keys the auth service signs access tokens with. Private keys are sealed (AES-256-GCM);
-- retired keys stay published in the JWKS until every token they signed has expired.
CREATE TABLE IF NOT EXISTS signing_keys (
  kid text PRIMARY KEY,
  algorithm text NOT NULL CONSTRAINT signing_keys_algorithm_check CHECK (algorithm IN ('ES256')),
  public_jwk jsonb NOT NULL,
  private_key text NOT NULL,
  status text NOT NULL CONSTRAINT signing_keys_status_check CHECK (status IN ('current', 'retired')),
  retired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_current ON signing_keys (status) WHERE status = 'current';

CREATE OR REPLACE TRIGGER signing_keys_set_updated_at BEFORE UPDATE ON signing_keys
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
