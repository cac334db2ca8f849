-- Responses of writes made with an Idempotency-Key, replayed for 24 hours. Bodies are
-- sealed (AES-256-GCM): some answers, like a new API key, are secrets shown once.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope text NOT NULL,
  route text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  state text NOT NULL DEFAULT 'running' CONSTRAINT idempotency_keys_state_check CHECK (state IN ('running', 'done')),
  response_status integer,
  response_body text,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, route, key)
);

CREATE INDEX IF NOT EXISTS idempotency_keys_expires_idx ON idempotency_keys (expires_at);

CREATE OR REPLACE TRIGGER idempotency_keys_set_updated_at BEFORE UPDATE ON idempotency_keys
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
