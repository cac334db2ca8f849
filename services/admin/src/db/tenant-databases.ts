import type pg from 'pg';
import { assertSafeIdentifier, createClient, migrate, MigrationError, MIGRATION_DIRS, withDatabase, type Logger } from '@codex/shared';

/** Serialises template refresh + CREATE DATABASE across every provisioner on one server. */
const TEMPLATE_LOCK = 7_300_002_025;
/** Serialises the lock-down of the shared databases: two provisioners changing one database's ACL at once fail with "tuple concurrently updated". */
const SHARED_LOCKDOWN_LOCK = 7_300_002_026;

/** Runs `fn` with a superuser connection to the server's maintenance database. */
export async function withServerAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = createClient({ connectionString: withDatabase(serverUrl, 'postgres'), application_name: 'codex-provisioning' });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

async function databaseExists(admin: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return Boolean(rowCount);
}

/** Creates the tenant's login role, or resets its password to the stored one on a retry. */
export async function ensureTenantRole(admin: pg.Client, role: string, password: string): Promise<void> {
  const name = admin.escapeIdentifier(assertSafeIdentifier(role));
  const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const options = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION CONNECTION LIMIT 100 PASSWORD ${admin.escapeLiteral(password)}`;
  try {
    await admin.query(rowCount ? `ALTER ROLE ${name} WITH ${options}` : `CREATE ROLE ${name} WITH ${options}`);
  } catch (err) {
    // A concurrent retry created it first; the stored password is the same, so align it.
    if ((err as { code?: string }).code !== '42710') throw err;
    await admin.query(`ALTER ROLE ${name} WITH ${options}`);
  }
}

/**
 * Creates `name` as a copy of the tenant template database, which is first
 * brought up to date with the tenant migrations (copying is much faster than
 * migrating each new database from scratch).
 */
export async function createTenantDatabase(admin: pg.Client, serverUrl: string, name: string, template: string, logger?: Logger): Promise<void> {
  assertSafeIdentifier(name);
  assertSafeIdentifier(template);
  await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
  try {
    if (await databaseExists(admin, name)) return;
    const prepareTemplate = async () => {
      if (!(await databaseExists(admin, template))) await admin.query(`CREATE DATABASE ${template}`);
      await admin.query(`REVOKE ALL ON DATABASE ${template} FROM PUBLIC`);
      await migrate({ connectionString: withDatabase(serverUrl, template), directory: MIGRATION_DIRS.tenant, logger });
    };
    try {
      await prepareTemplate();
    } catch (err) {
      // The template only caches the tenant migrations; one built from files edited since (an unreleased
      // migration reworked during development) is rebuilt instead of failing every new tenant. A tenant
      // database migrated from the old files still refuses them, as it should.
      if (!(err instanceof MigrationError && err.reason === 'changed')) throw err;
      logger?.warn('the tenant template was built from migration files that have changed since; rebuilding it', { template, reason: err.message });
      await admin.query(`DROP DATABASE ${template} WITH (FORCE)`);
      await prepareTemplate();
    }
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
  }
}

/**
 * Only the tenant's role may connect to its database (CONNECT revoked from
 * PUBLIC), and that role can use the tables but not change the schema.
 */
export async function lockDownTenantDatabase(admin: pg.Client, serverUrl: string, database: string, role: string): Promise<void> {
  const db = assertSafeIdentifier(database);
  const roleName = admin.escapeIdentifier(assertSafeIdentifier(role));
  await admin.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
  await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${roleName}`);
  const tenantAdmin = createClient({ connectionString: withDatabase(serverUrl, db), application_name: 'codex-provisioning' });
  await tenantAdmin.connect();
  try {
    await tenantAdmin.query(`
      REVOKE ALL ON SCHEMA public FROM PUBLIC;
      GRANT USAGE ON SCHEMA public TO ${roleName};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${roleName};
      GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${roleName};
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${roleName};
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${roleName};
    `);
  } finally {
    await tenantAdmin.end();
  }
}

/**
 * No tenant role may connect anywhere but its own database: not the master
 * database, nor the maintenance ones (from which it could list every tenant's
 * database). Superusers, which the platform uses, are not affected.
 */
export async function lockDownSharedDatabases(admin: pg.Client, masterDatabase: string): Promise<void> {
  await admin.query('BEGIN');
  try {
    await admin.query('SELECT pg_advisory_xact_lock($1)', [SHARED_LOCKDOWN_LOCK]);
    for (const database of new Set([masterDatabase, 'postgres', 'template1'])) {
      await admin.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${admin.escapeIdentifier(database)} FROM PUBLIC`);
    }
    await admin.query('COMMIT');
  } catch (err) {
    await admin.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
