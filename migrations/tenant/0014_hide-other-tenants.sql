-- A tenant's own login role works in its own database only; which other databases, roles and
-- sessions the server holds (every other tenant's id is in those names) is none of its business.
-- Revoking catalog privileges needs a superuser: on a managed server whose migrating role is not
-- one, the names stay readable (they carry tenant ids, never data) and a notice says so.
DO $$
BEGIN
  REVOKE SELECT ON pg_catalog.pg_database, pg_catalog.pg_stat_database, pg_catalog.pg_stat_activity,
    pg_catalog.pg_roles, pg_catalog.pg_user, pg_catalog.pg_auth_members, pg_catalog.pg_shdescription FROM PUBLIC;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'catalog privileges unchanged: the migrating role may not revoke them';
END
$$;
