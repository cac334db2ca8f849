import { randomBytes, randomUUID } from 'node:crypto';
import {
  ErrorCode,
  ConflictError,
  databaseName,
  generateApiKey,
  migrateTenantDatabase,
  withDatabase,
  withTransaction,
  planIsOpen,
  recordAudit,
  startTenantPlan,
  ValidationError,
  type AuditActor,
  type Logger,
  type PlatformConfig,
  type Pool,
  type SecretBox,
  type ServiceDeps,
} from '@codex/shared';
import { insertApiKey, revokeAllApiKeys, type ApiKey } from '../db/api-keys-repo';
import { claimSpareDatabase, createTenantDatabase, ensureTenantRole, lockDownSharedDatabasesOnce, withServerAdmin } from '../db/tenant-databases';
import { DEFAULT_SERVER, leastLoadedServer, serverUrlOf, type ServerDeps } from './database-servers';
import type { SpareDatabases } from './spare-databases';
import { findTenantBySlug, insertProvisioningTenant, publicTenant, setTenantStatus, type Tenant, type TenantWithSecret } from '../db/tenants-repo';

export interface ProvisioningDeps {
  /** Master database pool. */
  db: Pool;
  /** Superuser URL of the server tenant databases are created on (the master's, for now). */
  serverUrl: string;
  /** Migrated copy source for new tenant databases. */
  templateDatabase: string;
  secrets: SecretBox;
  logger: Logger;
  /** Databases made ahead: a new tenant claims one when there is one. */
  spares?: SpareDatabases;
  /** The live platform configuration: its defaultPlan for a tenant asked without a plan, its signupPolicy for every new tenant. */
  settings: Pick<PlatformConfig, 'current'>;
  /** The default server's capacity (DB_SERVER_CAPACITY) when placing tenants among several servers; 1,000 when not given. */
  defaultServerCapacity?: number;
}

/** What provisioning (and imports and moves) need, from the admin service's deps. */
export function provisioningDepsOf(deps: ServiceDeps<'admin'>, spares?: SpareDatabases): ProvisioningDeps {
  return {
    db: deps.db,
    serverUrl: deps.config.databaseUrl,
    templateDatabase: deps.config.provisioning.templateDatabase,
    secrets: deps.secrets,
    logger: deps.logger,
    spares,
    settings: deps.platformConfig,
    defaultServerCapacity: deps.config.provisioning.defaultServerCapacity,
  };
}

/** The database-server view of provisioning's dependencies. */
export const serverDepsOf = (deps: ProvisioningDeps): ServerDeps => ({ ...deps, defaultCapacity: deps.defaultServerCapacity ?? 1_000 });

export interface NewTenant {
  slug: string;
  name: string;
  /** The configured defaultPlan when not given. */
  plan?: string;
}

export interface IssuedApiKey extends ApiKey {
  /** The secret, shown once. */
  key: string;
}

export interface ProvisionedTenant {
  tenant: Tenant;
  apiKey: IssuedApiKey;
}

export type ProvisioningStep = 'claimed' | 'role' | 'database' | 'locked-down' | 'migrated' | 'activated';

/** For tests: runs after each step, so a test can fail the process between steps. */
export type StepHook = (step: ProvisioningStep, tenant: TenantWithSecret) => Promise<void> | void;

/** Names derive from the tenant id, never from input, so no slug can reach SQL as an identifier. */
function placementNames(tenantId: string): { dbName: string; dbRole: string } {
  const compact = tenantId.replaceAll('-', '');
  return { dbName: `tenant_${compact}`, dbRole: `tenant_${compact}` };
}

/**
 * Runs `fn` holding the tenant's lock (a session advisory lock in the master database), which
 * provisioning, imports and moves hold for their whole run; answers `{ skipped: true }` when another
 * process holds it. A lock that is free while work is recorded as running means that work's process died.
 */
export async function tryTenantLock<T>(db: Pool, tenantId: string, fn: () => Promise<T>): Promise<{ done: T } | { skipped: true }> {
  const client = await db.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [`provision:${tenantId}`]);
    if (!rows[0]?.locked) return { skipped: true };
    try {
      return { done: await fn() };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`provision:${tenantId}`]);
    }
  } finally {
    client.release();
  }
}

/** Provisioning (or an import, or a move) of one tenant is exclusive: a second attempt while one runs gets 409. */
export async function withTenantLock<T>(db: Pool, tenantId: string, fn: () => Promise<T>): Promise<T> {
  const outcome = await tryTenantLock(db, tenantId, fn);
  if ('skipped' in outcome)
    throw new ConflictError('This tenant is being provisioned, imported or moved right now', undefined, ErrorCode.PROVISIONING_IN_PROGRESS);
  return outcome.done;
}

/** Claims the slug with a `provisioning` row, or resumes an unfinished one with that slug. */
async function claim(deps: ProvisioningDeps, input: Required<NewTenant> & { signup: 'open' | 'invite' }): Promise<TenantWithSecret> {
  const id = randomUUID();
  const inserted = await insertProvisioningTenant(deps.db, {
    dbServer: await leastLoadedServer(serverDepsOf(deps)),
    id,
    ...input,
    ...placementNames(id),
    dbSecret: deps.secrets.seal(randomBytes(32).toString('base64url')),
  });
  if (inserted) return inserted;
  const existing = await findTenantBySlug(deps.db, input.slug);
  if (existing && (existing.status === 'provisioning' || existing.status === 'failed')) return existing;
  throw new ConflictError(`A tenant with slug "${input.slug}" already exists`, { field: 'slug' }, ErrorCode.TENANT_SLUG_TAKEN);
}

/**
 * Creates a tenant end to end: master row (`provisioning`) → login role →
 * database copied from the migrated template → access locked down → tenant
 * migrations → first API key and `active`, the last two in one transaction.
 * With a spare database ready, the role, copy and lock-down are one rename of
 * the spare instead.
 * Every step is safe to repeat, so calling this again with the same slug
 * after a failure at any point finishes the job; a finished slug is 409.
 */
export async function provisionTenant(
  deps: ProvisioningDeps,
  input: NewTenant,
  afterStep?: StepHook,
  actor: AuditActor = { actorType: 'system', actorId: 'provisioning' },
): Promise<ProvisionedTenant> {
  const { settings } = await deps.settings.current();
  const plan = input.plan ?? settings.defaultPlan;
  if (!(await planIsOpen(deps.db, plan)))
    throw new ValidationError('No such plan', [{ path: 'body.plan', message: `no open plan has the code ${JSON.stringify(plan)}` }]);
  const claimed = await claim(deps, { ...input, plan, signup: settings.signupPolicy });
  await afterStep?.('claimed', claimed);
  return withTenantLock(deps.db, claimed.id, async () => {
    const tenant = (await findTenantBySlug(deps.db, input.slug))!;
    if (tenant.status === 'active') {
      throw new ConflictError(`A tenant with slug "${input.slug}" already exists`, { field: 'slug' }, ErrorCode.TENANT_SLUG_TAKEN);
    }
    const { dbName, dbRole, dbSecret } = tenant as TenantWithSecret & { dbName: string; dbRole: string; dbSecret: string };
    try {
      const onDefault = tenant.dbServer === DEFAULT_SERVER;
      const serverUrl = await serverUrlOf(deps, tenant.dbServer);
      // A registered server holds no master database: only its maintenance databases are closed to tenant roles.
      const sharedDatabase = onDefault ? databaseName(deps.serverUrl) : 'postgres';
      const made = await withServerAdmin(serverUrl, async (admin) => {
        if (onDefault && deps.spares?.enabled && (await claimSpareDatabase(admin, dbName, dbRole, deps.secrets.open(dbSecret)))) {
          deps.spares.refill();
          await afterStep?.('role', tenant);
          await afterStep?.('database', tenant);
          await lockDownSharedDatabasesOnce(admin, serverUrl, sharedDatabase);
          await afterStep?.('locked-down', tenant);
          return 'copied';
        }
        await ensureTenantRole(admin, dbRole, deps.secrets.open(dbSecret));
        await afterStep?.('role', tenant);
        const copy = await createTenantDatabase(admin, serverUrl, dbName, dbRole, deps.templateDatabase, deps.logger);
        await afterStep?.('database', tenant);
        await lockDownSharedDatabasesOnce(admin, serverUrl, sharedDatabase);
        await afterStep?.('locked-down', tenant);
        return copy;
      });
      // A fresh copy of the template is as migrated as the template; one an interrupted attempt made may not be.
      if (made === 'existed') await migrateTenantDatabase(withDatabase(serverUrl, dbName), deps.logger);
      await afterStep?.('migrated', tenant);
      const apiKey = await withTransaction(deps.db, async (tx) => {
        // Keys of an unfinished attempt were never shown to anyone.
        await revokeAllApiKeys(tx, tenant.id);
        const generated = generateApiKey();
        const stored = await insertApiKey(tx, tenant.id, 'default', generated, actor.actorId ?? null);
        await startTenantPlan(tx, tenant.id, tenant.plan);
        await setTenantStatus(tx, tenant.id, 'active');
        await recordAudit(tx, {
          ...actor,
          tenantId: tenant.id,
          action: 'tenant.created',
          targetType: 'tenant',
          targetId: tenant.id,
          details: { after: { slug: tenant.slug, name: tenant.name, plan: tenant.plan, dbServer: tenant.dbServer, apiKeyPrefix: stored.prefix } },
        });
        return { ...stored, key: generated.key };
      });
      const active = { ...tenant, status: 'active' as const };
      await afterStep?.('activated', active);
      deps.logger.info('tenant provisioned', { tenantId: tenant.id, slug: tenant.slug });
      return { tenant: publicTenant(active), apiKey };
    } catch (err) {
      await setTenantStatus(deps.db, tenant.id, 'failed').catch(() => undefined);
      deps.logger.warn('tenant provisioning failed; a retry with the same slug resumes it', { tenantId: tenant.id, err });
      throw err;
    }
  });
}
