-- More PostgreSQL servers for tenant databases (#14). The server the master database lives on is
-- 'default' (DATABASE_URL) and is not listed; others are registered here with their superuser URL sealed
-- with SECRETS_KEYS. New tenants go to the least loaded active server (tenants / capacity).
CREATE TABLE IF NOT EXISTS database_servers (
  name text PRIMARY KEY CONSTRAINT database_servers_name_check CHECK (name ~ '^[a-z][a-z0-9-]{0,39}$' AND name <> 'default'),
  url_sealed text NOT NULL,
  capacity integer NOT NULL CONSTRAINT database_servers_capacity_check CHECK (capacity > 0),
  -- 'draining': serves its tenants, takes no new ones; 'down': declared out of service by an operator.
  status text NOT NULL DEFAULT 'active' CONSTRAINT database_servers_status_check CHECK (status IN ('active', 'draining', 'down')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A tenant moved to another server: every service drops its pools to the old one.
ALTER TABLE access_changes DROP CONSTRAINT IF EXISTS access_changes_kind_check;
ALTER TABLE access_changes ADD CONSTRAINT access_changes_kind_check
  CHECK (kind IN ('tenant_suspended', 'tenant_resumed', 'tenant_deleted', 'tenant_restored', 'tenant_moved', 'key_revoked', 'key_expiry_changed', 'admin_sessions_ended'));
