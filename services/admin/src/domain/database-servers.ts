import {
  ConflictError,
  databaseServerUrl,
  ErrorCode,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
  withDatabase,
  type AuditActor,
  type AuditWriter,
  type Queryable,
  type SecretBox,
  type Logger,
} from '@codex/shared';
import pg from 'pg';
import {
  findRegisteredServer,
  insertRegisteredServer,
  listRegisteredServers,
  tenantsPerServer,
  updateRegisteredServer,
  type DatabaseServerStatus,
} from '../db/database-servers-repo';
import { ensureTenantTemplate, lockDownSharedDatabases, withServerAdmin } from '../db/tenant-databases';

/** The server DATABASE_URL names (the master database's): always there, never registered. */
export const DEFAULT_SERVER = 'default';
/** How long a server may take to answer before it counts as unreachable. */
const PROBE_TIMEOUT_MS = 5_000;

export interface ServerDeps {
  db: Queryable;
  /** DATABASE_URL: the default server's superuser URL. */
  serverUrl: string;
  secrets: SecretBox;
  templateDatabase: string;
  /** The default server's capacity, weighed against registered servers' when placing a tenant. */
  defaultCapacity: number;
  logger: Logger;
}

/** A server as the API shows it: where it is, never its credentials. */
export interface DatabaseServerView {
  name: string;
  host: string;
  port: number;
  capacity: number;
  status: DatabaseServerStatus;
  tenants: number;
  createdAt: Date | null;
  updatedAt: Date | null;
}

const where = (url: string) => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 5432 };
};

/** Every server tenants can live on, the default one first, with how many tenants each holds. */
export async function databaseServers(deps: ServerDeps): Promise<DatabaseServerView[]> {
  const counts = await tenantsPerServer(deps.db);
  const registered = await listRegisteredServers(deps.db);
  return [
    {
      name: DEFAULT_SERVER,
      ...where(deps.serverUrl),
      capacity: deps.defaultCapacity,
      status: 'active' as const,
      tenants: counts.get(DEFAULT_SERVER) ?? 0,
      createdAt: null,
      updatedAt: null,
    },
    ...registered.map((server) => ({
      name: server.name,
      ...where(deps.secrets.open(server.urlSealed)),
      capacity: server.capacity,
      status: server.status,
      tenants: counts.get(server.name) ?? 0,
      createdAt: server.createdAt,
      updatedAt: server.updatedAt,
    })),
  ];
}

/** The active server with the most room (tenants ÷ capacity lowest; the default one wins a tie). */
export async function leastLoadedServer(deps: ServerDeps): Promise<string> {
  // Every provisioning asks: with no server registered (most installs) there is nothing to weigh.
  if ((await listRegisteredServers(deps.db)).length === 0) return DEFAULT_SERVER;
  const servers = (await databaseServers(deps)).filter((server) => server.status === 'active');
  return servers.reduce((best, server) => (server.tenants / server.capacity < best.tenants / best.capacity ? server : best)).name;
}

/**
 * Connects to a server as the platform would and checks it can host tenants: reachable within
 * PROBE_TIMEOUT_MS, PostgreSQL 14 or newer, a role that may create databases and roles.
 * Answers what is wrong, or undefined.
 */
export async function probeDatabaseServer(url: string): Promise<string | undefined> {
  // The driver's own client, not createClient: the operator needs the driver's reason, not the platform's 503.
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres'), connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS });
  try {
    await client.connect();
    const { rows } = await client.query<{ version: number; allowed: boolean }>(
      `SELECT current_setting('server_version_num')::int AS version,
              (SELECT rolsuper OR (rolcreatedb AND rolcreaterole) FROM pg_roles WHERE rolname = current_user) AS allowed`,
    );
    if (rows[0]!.version < 140_000) return `PostgreSQL ${rows[0]!.version} is too old; 14 or newer (a move waits for ended sessions)`;
    if (!rows[0]!.allowed) return 'the role may not create databases and roles';
    return undefined;
  } catch (err) {
    return `cannot connect: ${(err as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Registers a server: probed first (400 naming `url` when it cannot host tenants), its tenant template
 * migrated and its shared databases closed to tenant roles, then stored with its URL sealed. Audited.
 */
export async function registerDatabaseServer(
  deps: ServerDeps,
  input: { name: string; url: string; capacity: number },
  actor: AuditActor,
  audit: Pick<AuditWriter, 'append'>,
) {
  if (input.name === DEFAULT_SERVER) throw new ConflictError('"default" is the server of DATABASE_URL', { field: 'name' }, ErrorCode.CONFLICT);
  if (await findRegisteredServer(deps.db, input.name))
    throw new ConflictError(`A server named "${input.name}" is registered`, { field: 'name' }, ErrorCode.CONFLICT);
  const problem = await probeDatabaseServer(input.url);
  if (problem) throw new ValidationError('The server cannot host tenants', [{ path: 'body.url', message: problem }]);
  await withServerAdmin(input.url, async (admin) => {
    await ensureTenantTemplate(admin, input.url, deps.templateDatabase, deps.logger);
    await lockDownSharedDatabases(admin, 'postgres');
  });
  const server = await insertRegisteredServer(deps.db, { name: input.name, urlSealed: deps.secrets.seal(input.url), capacity: input.capacity });
  if (!server) throw new ConflictError(`A server named "${input.name}" is registered`, { field: 'name' }, ErrorCode.CONFLICT);
  await audit.append({
    ...actor,
    action: 'database_server.registered',
    targetType: 'database_server',
    targetId: input.name,
    details: { after: { ...where(input.url), capacity: input.capacity } },
  });
  return (await databaseServers(deps)).find((view) => view.name === input.name)!;
}

/** Changes a registered server's capacity or status (draining: keeps its tenants, gets no new ones). */
export async function changeDatabaseServer(
  deps: ServerDeps,
  name: string,
  changes: { capacity?: number; status?: DatabaseServerStatus },
  actor: AuditActor,
  audit: Pick<AuditWriter, 'append'>,
) {
  const before = await findRegisteredServer(deps.db, name);
  if (!before) throw new NotFoundError(`No registered database server is named "${name}"`, ErrorCode.DATABASE_SERVER_NOT_FOUND);
  await updateRegisteredServer(deps.db, name, changes);
  await audit.append({
    ...actor,
    action: 'database_server.changed',
    targetType: 'database_server',
    targetId: name,
    details: { before: { capacity: before.capacity, status: before.status }, after: changes },
  });
  return (await databaseServers(deps)).find((view) => view.name === name)!;
}

/**
 * The superuser URL of a server a tenant may be placed on or moved to: 404 when unknown, 409 when not
 * active, 503 (with Retry-After) when it does not answer.
 */
export async function usableServerUrl(deps: ServerDeps, name: string): Promise<string> {
  if (name !== DEFAULT_SERVER) {
    const server = await findRegisteredServer(deps.db, name);
    if (!server) throw new NotFoundError(`No database server is named "${name}"`, ErrorCode.DATABASE_SERVER_NOT_FOUND);
    if (server.status !== 'active')
      throw new ConflictError(`The database server "${name}" is ${server.status}`, undefined, ErrorCode.DATABASE_SERVER_UNAVAILABLE);
  }
  const url = await serverUrlOf(deps, name);
  const problem = await probeDatabaseServer(url);
  if (problem) throw new ServiceUnavailableError(`The database server "${name}" does not answer: ${problem}`, undefined, 30);
  return url;
}

/** Every server to watch, the default one first, with its superuser URL ('down' ones too: they may come back). */
export async function watchedDatabaseServers(deps: Pick<ServerDeps, 'db' | 'serverUrl' | 'secrets'>): Promise<Array<{ name: string; url: string }>> {
  const registered = await listRegisteredServers(deps.db);
  return [{ name: DEFAULT_SERVER, url: deps.serverUrl }, ...registered.map((server) => ({ name: server.name, url: deps.secrets.open(server.urlSealed) }))];
}

/** A server's superuser URL by name, whatever its status. */
export const serverUrlOf = (deps: Pick<ServerDeps, 'db' | 'serverUrl' | 'secrets'>, name: string): Promise<string> =>
  databaseServerUrl(deps.db, { [DEFAULT_SERVER]: deps.serverUrl }, deps.secrets, name);
