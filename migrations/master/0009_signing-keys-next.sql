-- Rotation publishes the next signing key before anyone signs with it: every JWKS (each auth
-- instance re-reads keys every 30 s, the gateway caches the set) already holds a key by the time a
-- token carries its kid, so a rotation opens no window in which fresh tokens fail to verify.
ALTER TABLE signing_keys DROP CONSTRAINT IF EXISTS signing_keys_status_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_status_check CHECK (status IN ('next', 'current', 'retired'));
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_next ON signing_keys (status) WHERE status = 'next';
