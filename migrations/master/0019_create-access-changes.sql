-- Changes to who may call the platform (a tenant suspended, resumed, deleted or restored, a key revoked or
-- given an end, an admin's sessions ended),
-- read by every gateway and service instance each second so the change is in force everywhere within
-- seconds rather than after the key cache's TTL (#14). A table, not a pub/sub message: an instance that
-- was down or lost its connection reads what it missed, and nothing is needed beyond PostgreSQL.
-- Rows are kept for an hour (any instance removes older ones).
CREATE TABLE IF NOT EXISTS access_changes (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CONSTRAINT access_changes_kind_check
    CHECK (kind IN ('tenant_suspended', 'tenant_resumed', 'tenant_deleted', 'tenant_restored', 'key_revoked', 'key_expiry_changed', 'admin_sessions_ended')),
  tenant_id uuid,
  key_id uuid,
  admin_id uuid,
  -- The clock at the insert, not the transaction's start: readers look back a window from their last read,
  -- which must cover a row whose transaction commits after a reader passed its sequence number.
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT access_changes_subject CHECK ((kind = 'admin_sessions_ended') = (admin_id IS NOT NULL AND tenant_id IS NULL))
);

CREATE INDEX IF NOT EXISTS access_changes_changed_idx ON access_changes (changed_at);
