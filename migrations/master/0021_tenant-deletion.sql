-- Deleting a tenant is soft first (#14): its data is out of reach at once (status `deleting`), it can be
-- restored until `purge_after`, and then the purge job drops its database and role (status `deleted`).
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS purge_after timestamptz;
-- What a restore brings it back to: active, suspended (and why) or failed.
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS status_before_delete text;

CREATE INDEX IF NOT EXISTS tenants_purge_due_idx ON tenants (purge_after) WHERE status = 'deleting';
