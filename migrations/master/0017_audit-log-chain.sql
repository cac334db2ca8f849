-- The audit log becomes append-only and hash-chained (#14). Each row gets a gapless sequence number and
-- a SHA-256 over its previous row's hash and its own canonical content, so an edited row, a removed row
-- or a reordered one breaks the chain at that row. Removing the newest rows leaves a valid but shorter
-- chain: the admin service catches that against signed checkpoints it keeps outside the database.

-- The log outlives the tenants it names; keeping the foreign key would rewrite rows on a tenant's delete.
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_tenant_id_fkey;

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS seq bigint;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS prev_hash bytea;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS hash bytea;

-- The canonical content of a row: a JSON array in a fixed order, timestamps as microseconds since the
-- epoch (jsonb prints its keys in a fixed order, so `details` reads back the same however it was written).
-- The verifier in services/admin recomputes exactly this expression.
CREATE OR REPLACE FUNCTION audit_log_row_hash(
  prev bytea, seq bigint, occurred_at timestamptz, actor_type text, actor_id text, tenant_id uuid, action text,
  target_type text, target_id text, request_id text, ip inet, details jsonb
) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(jsonb_build_array(
    seq, (extract(epoch FROM occurred_at) * 1000000)::bigint, actor_type, actor_id, tenant_id, action,
    target_type, target_id, request_id, host(ip), details
  )::text, 'UTF8'))
$$;

-- Rows written before this migration are chained in the order they were written.
DO $$
DECLARE
  entry record;
  previous bytea := NULL;
  next_seq bigint := 0;
BEGIN
  FOR entry IN SELECT * FROM audit_log WHERE seq IS NULL ORDER BY id LOOP
    next_seq := next_seq + 1;
    UPDATE audit_log
       SET seq = next_seq,
           prev_hash = previous,
           hash = audit_log_row_hash(previous, next_seq, entry.occurred_at, entry.actor_type, entry.actor_id, entry.tenant_id,
                                     entry.action, entry.target_type, entry.target_id, entry.request_id, entry.ip, entry.details)
     WHERE id = entry.id
     RETURNING hash INTO previous;
  END LOOP;
END
$$;

ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS audit_log_seq_key ON audit_log (seq);
CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON audit_log (actor_id, seq DESC) WHERE actor_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_action_idx ON audit_log (action, seq DESC);
CREATE INDEX IF NOT EXISTS audit_log_target_idx ON audit_log (target_type, target_id, seq DESC) WHERE target_type IS NOT NULL;

-- Appends take one transaction-scoped lock, so two concurrent appends cannot both link to the same
-- previous row; the lock is held to the end of the change's transaction, which is why audit rows are
-- written last in it. A transaction that rolls back frees its sequence number for the next one.
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('codex-metatron:audit_log'));
  SELECT a.seq, a.hash INTO head FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
  NEW.seq := coalesce(head.seq, 0) + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := audit_log_row_hash(NEW.prev_hash, NEW.seq, NEW.occurred_at, NEW.actor_type, NEW.actor_id, NEW.tenant_id,
                                 NEW.action, NEW.target_type, NEW.target_id, NEW.request_id, NEW.ip, NEW.details);
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS audit_log_chain ON audit_log;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Roles other than the owner may only read and append (the platform's services connect as the owner,
-- which the triggers above hold to the same rule).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
