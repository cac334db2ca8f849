import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import {
  assertSafeIdentifier,
  createClient,
  createPool,
  migrate,
  MigrationError,
  MIGRATION_DIRS,
  readMigrations,
  scramSecret,
  withDatabase,
  type Logger,
  type Pool,
} from '@codex/shared';

/** Serialises template refresh + CREATE DATABASE across every provisioner on one server. */
const TEMPLATE_LOCK = 7_300_002_025;
/** One filler of spare databases per server at a time. */
const SPARE_FILL_LOCK = 7_300_002_027;
/** Spare databases and their roles share one name with this prefix. */
const SPARE_PREFIX = 'tenant_spare_';
/** LIKE pattern of spare names (the prefix's underscores taken literally). */
const SPARE_NAMES = `${SPARE_PREFIX.replaceAll('_', '\\_')}%`;
/** A spare is ready to claim when its comment is this prefix and the migrations marker it was copied under. */
const SPARE_READY = 'codex spare: ';
/** Serialises the lock-down of the shared databases: two provisioners changing one database's ACL at once fail with "tuple concurrently updated". */
const SHARED_LOCKDOWN_LOCK = 7_300_002_026;

/**
 * Superuser connections to each server's maintenance database, kept between
 * provisionings (a new backend per tenant cost more than the rest of a step).
 * Their commits do not wait for the disk (each step is repeated by a resumed
 * attempt anyway): what makes them durable is the synchronous commit that
 * opens the tenant's database (or claims a spare), which flushes the server's
 * log up to it before the tenant is activated (and the shared lock-down,
 * which commits synchronously itself).
 */
const serverAdmins = new Map<string, Pool>();

function serverAdminPool(serverUrl: string): Pool {
  let pool = serverAdmins.get(serverUrl);
  if (!pool) {
    pool = createPool(
      { connectionString: withDatabase(serverUrl, 'postgres'), options: '-c synchronous_commit=off', allowExitOnIdle: true },
      // Provisionings queue for the template lock holding one; more than a few at once wait here instead.
      { max: 8, applicationName: 'codex-provisioning', statementTimeoutMs: 300_000, idleTimeoutMs: 30_000, connectionTimeoutMs: 120_000 },
    );
    serverAdmins.set(serverUrl, pool);
  }
  return pool;
}

/**
 * Runs `fn` with a superuser connection to the server's maintenance database.
 * A connection `fn` failed on is closed rather than kept: it may still hold a
 * session lock or be inside a transaction.
 */
export async function withServerAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = await serverAdminPool(serverUrl).connect();
  try {
    const result = await fn(admin);
    admin.release();
    return result;
  } catch (err) {
    admin.release(true);
    throw err;
  }
}

/** Closes the kept connections (at shutdown). */
export async function closeServerAdmins(): Promise<void> {
  const pools = [...serverAdmins.values()];
  serverAdmins.clear();
  await Promise.all(pools.map((pool) => pool.end()));
}

async function databaseExists(admin: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return Boolean(rowCount);
}

/** The group role that holds the table rights in every tenant database (migrations/tenant/0018). */
const TENANT_ACCESS_ROLE = 'codex_tenant_access';
/** The group, made here too because a tenant's role is created before the template is first migrated. */
const ENSURE_TENANT_ACCESS_ROLE = `DO $$ BEGIN CREATE ROLE ${TENANT_ACCESS_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`;

/**
 * Creates the tenant's login role, a member of the tenant access group, or
 * resets its password to the stored one on a retry (or a restore). The
 * password goes as a SCRAM secret made here, with few rounds for a random
 * machine password (see scramSecret).
 */
export async function ensureTenantRole(admin: pg.Client, role: string, password: string): Promise<void> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  try {
    await admin.query(`${ENSURE_TENANT_ACCESS_ROLE}; ${tenantRoleStatement(admin, role, password, Boolean(rowCount))}`);
  } catch (err) {
    // A concurrent retry created it first; the stored password is the same, so align it.
    if ((err as { code?: string }).code !== '42710') throw err;
    await admin.query(tenantRoleStatement(admin, role, password, true));
  }
}

/**
 * The role inherits only the access group's rights (it is a member of
 * nothing else); an existing role is made a member again, as one made before
 * the group existed is not.
 */
function tenantRoleStatement(admin: pg.Client, role: string, password: string, exists: boolean): string {
  const name = admin.escapeIdentifier(assertSafeIdentifier(role));
  const options = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION CONNECTION LIMIT 100 PASSWORD ${admin.escapeLiteral(scramSecret(password))}`;
  return exists
    ? `ALTER ROLE ${name} WITH ${options}; GRANT ${TENANT_ACCESS_ROLE} TO ${name}`
    : `CREATE ROLE ${name} WITH ${options} IN ROLE ${TENANT_ACCESS_ROLE}`;
}

/**
 * What a template database was last migrated from, kept as its comment: the
 * tenant migration files' names and checksums, hashed. A template whose
 * comment names the current files needs no migration run (a connection into
 * it, and a read of its history) before it is copied.
 */
async function tenantMigrationsMarker(): Promise<string> {
  const files = await readMigrations(MIGRATION_DIRS.tenant);
  const digest = createHash('sha256');
  for (const file of files) digest.update(`${file.name}\u0000${file.checksum}\n`);
  return `codex tenant migrations ${digest.digest('hex')}`;
}

async function templateMarker(admin: pg.Client, template: string): Promise<string | undefined> {
  const { rows } = await admin.query<{ marker: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS marker FROM pg_database WHERE datname = $1`, [
    template,
  ]);
  return rows[0]?.marker ?? undefined;
}

/**
 * Creates `name` as a copy of the tenant template database, which is first
 * brought up to date with the tenant migrations when its marker says it was
 * built from other files (copying is much faster than migrating each new
 * database from scratch). `copied`: a fresh copy of the up-to-date template,
 * so already migrated; `existed`: made by an earlier, interrupted attempt.
 */
export async function createTenantDatabase(
  admin: pg.Client,
  serverUrl: string,
  name: string,
  role: string,
  template: string,
  logger?: Logger,
): Promise<'copied' | 'existed'> {
  assertSafeIdentifier(name);
  assertSafeIdentifier(template);
  await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
  try {
    if (await databaseExists(admin, name)) {
      // An attempt killed between the copy and its opening left it closed: finish that here.
      await openTenantDatabase(admin, name, role);
      return 'existed';
    }
    await prepareTenantTemplate(admin, serverUrl, template, logger);
    // A new database lets PUBLIC connect until told otherwise (the template's ACL is not copied): it is
    // created closed to everyone, its CONNECT taken from PUBLIC, and only then opened.
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template} ALLOW_CONNECTIONS false`);
    await openTenantDatabase(admin, name, role);
    return 'copied';
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
  }
}

/**
 * Brings the server's tenant template up to date with the tenant migrations when its marker says it was
 * built from other files. The caller holds TEMPLATE_LOCK (ensureTenantTemplate takes it).
 */
async function prepareTenantTemplate(admin: pg.Client, serverUrl: string, template: string, logger?: Logger): Promise<void> {
  const marker = await tenantMigrationsMarker();
  const prepareTemplate = async () => {
    if (!(await databaseExists(admin, template))) await admin.query(`CREATE DATABASE ${template}`);
    await admin.query(`REVOKE ALL ON DATABASE ${template} FROM PUBLIC`);
    await migrate({ connectionString: withDatabase(serverUrl, template), directory: MIGRATION_DIRS.tenant, logger });
    await admin.query(`COMMENT ON DATABASE ${template} IS ${admin.escapeLiteral(marker)}`);
  };
  if ((await templateMarker(admin, template)) !== marker) {
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
  }
}

/** The server's tenant template, migrated (a newly registered server gets it before its first tenant). */
export async function ensureTenantTemplate(admin: pg.Client, serverUrl: string, template: string, logger?: Logger): Promise<void> {
  await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
  try {
    await prepareTenantTemplate(admin, serverUrl, assertSafeIdentifier(template), logger);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
  }
}

/**
 * Takes CONNECT from PUBLIC and gives it to the tenant's role alone, then lets
 * connections in (a copy is made closed to everyone). The rights inside come
 * with the copy, through the access group, so nothing connects into it. The
 * commit is synchronous, the last of provisioning on this server: see
 * withServerAdmin.
 */
async function openTenantDatabase(admin: pg.Client, name: string, role: string): Promise<void> {
  const roleName = admin.escapeIdentifier(assertSafeIdentifier(role));
  // One query string is one transaction, all or nothing.
  await admin.query(`SELECT set_config('synchronous_commit', 'on', true);
    REVOKE ALL ON DATABASE ${name} FROM PUBLIC;
    GRANT CONNECT, TEMPORARY ON DATABASE ${name} TO ${roleName};
    ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
}

/**
 * Only the tenant's role may connect to its database (CONNECT revoked from
 * PUBLIC), and that role can use the tables but not change the schema. For a
 * database restored from a dump: a new one gets this from its template and
 * openTenantDatabase.
 */
export async function lockDownTenantDatabase(admin: pg.Client, serverUrl: string, database: string, role: string): Promise<void> {
  const db = assertSafeIdentifier(database);
  const roleName = admin.escapeIdentifier(assertSafeIdentifier(role));
  await admin.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${roleName}`);
  // A synchronous commit (the default), the last of the lock-down: see withServerAdmin.
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
    // Nothing waits for the goodbye: the grants are committed.
    tenantAdmin.end().catch(() => undefined);
  }
}

/**
 * No tenant role may connect anywhere but its own database: not the master
 * database, nor the maintenance ones (from which it could list every tenant's
 * database). Superusers, which the platform uses, are not affected. Committed
 * synchronously: it may be the last thing a restore does on the server.
 */
export async function lockDownSharedDatabases(admin: pg.Client, masterDatabase: string): Promise<void> {
  await admin.query('BEGIN');
  try {
    await admin.query('SET LOCAL synchronous_commit TO on');
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

/** Servers and master databases whose shared databases this process has locked down. */
const sharedLockedDown = new Set<string>();

/**
 * lockDownSharedDatabases once per process for each server and master
 * database, instead of once per tenant: an ACL stays as it was set, and a
 * restarted process (or another platform's master on the same server) does
 * it again.
 */
export async function lockDownSharedDatabasesOnce(admin: pg.Client, serverUrl: string, masterDatabase: string): Promise<void> {
  const key = `${serverUrl}\u0000${masterDatabase}`;
  if (sharedLockedDown.has(key)) return;
  await lockDownSharedDatabases(admin, masterDatabase);
  sharedLockedDown.add(key);
}

/**
 * Keeps `count` spare tenant databases on the server: each a copy of the
 * current template, locked down to a role of its own with a password nobody
 * holds, and marked ready (its comment) only when complete. Spares copied
 * under other migration files, or left unfinished by a filler that died, are
 * dropped first. One filler per server at a time; `stop` is asked between
 * spares. Answers how many ready spares there are.
 */
export async function fillSpareDatabases(
  admin: pg.Client,
  serverUrl: string,
  template: string,
  count: number,
  stop: () => boolean,
  logger?: Logger,
): Promise<number> {
  const { rows: locked } = await admin.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SPARE_FILL_LOCK]);
  if (!locked[0]?.locked) return 0;
  try {
    const ready = SPARE_READY + (await tenantMigrationsMarker());
    const { rows } = await admin.query<{ name: string; comment: string | null }>(
      `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE $1`,
      [SPARE_NAMES],
    );
    const { rows: roles } = await admin.query<{ name: string }>('SELECT rolname AS name FROM pg_roles WHERE rolname LIKE $1', [SPARE_NAMES]);
    const usable = new Set(rows.filter((row) => row.comment === ready).map((row) => row.name));
    for (const row of rows) if (!usable.has(row.name)) await admin.query(`DROP DATABASE IF EXISTS ${assertSafeIdentifier(row.name)} WITH (FORCE)`);
    for (const role of roles) if (!usable.has(role.name)) await admin.query(`DROP ROLE IF EXISTS ${assertSafeIdentifier(role.name)}`);
    let spares = usable.size;
    while (spares < count && !stop()) {
      const name = `${SPARE_PREFIX}${randomBytes(8).toString('hex')}`;
      await ensureTenantRole(admin, name, randomBytes(32).toString('base64url'));
      await createTenantDatabase(admin, serverUrl, name, name, template, logger);
      // Marked ready last, synchronously: a spare is claimed only complete.
      await admin.query('BEGIN');
      await admin.query('SET LOCAL synchronous_commit TO on');
      await admin.query(`COMMENT ON DATABASE ${name} IS ${admin.escapeLiteral(ready)}`);
      await admin.query('COMMIT');
      spares += 1;
    }
    return spares;
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [SPARE_FILL_LOCK]);
  }
}

/**
 * Makes a ready spare the tenant's: its database and role renamed to the
 * tenant's names, the role given the tenant's password, in one transaction
 * (no copy, no new backend). False when no ready spare could be taken (none
 * left, another provisioner took the last, or the tenant's role or database
 * exists already from an earlier attempt), and the caller copies as before.
 */
export async function claimSpareDatabase(admin: pg.Client, database: string, role: string, password: string): Promise<boolean> {
  const ready = SPARE_READY + (await tenantMigrationsMarker());
  const { rows } = await admin.query<{ name: string }>(
    `SELECT datname AS name FROM pg_database WHERE datname LIKE $1 AND shobj_description(oid, 'pg_database') = $2 ORDER BY datname LIMIT 3`,
    [SPARE_NAMES, ready],
  );
  const db = assertSafeIdentifier(database);
  const roleName = assertSafeIdentifier(role);
  for (const { name } of rows) {
    const spare = assertSafeIdentifier(name);
    await admin.query('BEGIN');
    try {
      // Durable before the tenant is activated in the master database, which may live on another server.
      await admin.query('SET LOCAL synchronous_commit TO on');
      await admin.query(`ALTER DATABASE ${spare} RENAME TO ${db}`);
      await admin.query(`ALTER ROLE ${spare} RENAME TO ${roleName}`);
      await admin.query(tenantRoleStatement(admin, roleName, password, true));
      await admin.query(`COMMENT ON DATABASE ${db} IS NULL`);
      await admin.query('COMMIT');
      return true;
    } catch {
      // Taken by another provisioner meanwhile, still being let go by its filler's connection, or the
      // tenant's names are in use: nothing of this attempt stays.
      await admin.query('ROLLBACK');
    }
  }
  return false;
}

/** Drops a tenant's database (closing whatever is connected to it) and its login role; nothing when already gone. */
export async function dropTenantDatabase(admin: pg.Client, database: string, role: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(assertSafeIdentifier(database))} WITH (FORCE)`);
  await admin.query(`DROP ROLE IF EXISTS ${admin.escapeIdentifier(assertSafeIdentifier(role))}`);
}

export async function dropDatabaseIfExists(admin: pg.Client, database: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(assertSafeIdentifier(database))} WITH (FORCE)`);
}

/**
 * A move's pause: the database closed to new connections, and every session in it but `keepPid`'s ended,
 * waiting (up to 5 s each, PostgreSQL 14+) until each has exited, so a commit under way when the signal
 * came is done and in the snapshot taken next.
 */
export async function closeTenantDatabase(admin: pg.Client, database: string, keepPid: number): Promise<void> {
  await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(assertSafeIdentifier(database))} ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [database, keepPid]);
}

/** Lets connections into a tenant database again (a move that failed, or whose process died, in its pause). */
export async function reopenTenantDatabase(admin: pg.Client, database: string): Promise<void> {
  await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(assertSafeIdentifier(database))} ALLOW_CONNECTIONS true`);
}

/** Tenant databases on the server closed to connections (spares aside): what a move that died in its pause leaves. */
export async function closedTenantDatabases(admin: pg.Client): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE NOT datallowconn AND datname LIKE 'tenant\\_%' AND datname NOT LIKE $1`,
    [SPARE_NAMES],
  );
  return rows.map((row) => row.datname);
}
