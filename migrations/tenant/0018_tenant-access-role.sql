-- Table rights in a tenant database belong to one group role, codex_tenant_access, of which every
-- tenant's login role is a member. They are made here, in the template, so a new tenant's copy already
-- has them and provisioning never connects into it; what keeps tenants apart is CONNECT, granted on each
-- database to its own tenant's role only (PUBLIC has none), so the group's rights reach no one's other
-- databases. The role is cluster-wide: the first database migrated on a server makes it.
DO $$
BEGIN
  CREATE ROLE codex_tenant_access NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO codex_tenant_access;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO codex_tenant_access;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO codex_tenant_access;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO codex_tenant_access;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO codex_tenant_access;
