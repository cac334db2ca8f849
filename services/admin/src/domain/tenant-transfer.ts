import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AppError,
  byteLimit,
  ConflictError,
  ErrorCode,
  isRowDataError,
  NotFoundError,
  parseInput,
  planIsOpen,
  withClient,
  withDatabase,
  within,
  type AuditActor,
  type AuditWriter,
} from '@codex/shared';
import { dropTenantDatabase, withServerAdmin } from '../db/tenant-databases';
import {
  deleteUnfinishedTenant,
  finishTenantImport,
  findTenantImport,
  insertTenantImport,
  describeTenantImport,
  recordTenantImportProgress,
  takeTenantImportApiKey,
  type TenantImport,
} from '../db/tenant-imports-repo';
import { findTenantById, findTenantBySlug } from '../db/tenants-repo';
import { provisionTenant, tryTenantLock, type IssuedApiKey, type ProvisioningDeps } from './provisioning';
import {
  appliedMigrations,
  archiveTextLines,
  inspectArchive,
  loadTenantArchive,
  rowsToLoad,
  TABLES_NOT_IMPORTED,
  tenantTables,
  writeTenantArchive,
  type ArchiveManifest,
} from './tenant-archive';
import { serverUrlOf } from './database-servers';
import { CreateTenant } from './tenant-input';

/** How long POST …/tenants/import waits for the whole-archive check before answering 202 (under the gateway's 30 s). */
const CHECK_WAIT_MS = 10_000;
/** How often a running import writes its progress. */
const PROGRESS_EVERY_MS = 1_000;
const SPOOL_PREFIX = 'codex-tenant-archive-';

/**
 * A tenant's export, checked before the first byte: 404 for an unknown or purged tenant, 409 for one
 * whose database is not made yet. Suspended and deleting tenants export (their databases are intact).
 * `write` streams the archive into the response; it is audited before it starts.
 */
export async function prepareTenantExport(deps: ProvisioningDeps, id: string, actor: AuditActor, audit: Pick<AuditWriter, 'append'>) {
  const tenant = await findTenantById(deps.db, id);
  if (!tenant || tenant.status === 'deleted') throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
  if (!tenant.dbName || tenant.status === 'provisioning' || tenant.status === 'failed')
    throw new ConflictError(`The tenant is ${tenant.status}: it has no database to export`, undefined, ErrorCode.TENANT_NOT_READY);
  const dbName = tenant.dbName;
  return {
    tenant,
    async write(out: Writable): Promise<void> {
      await audit.append({ ...actor, tenantId: id, action: 'tenant.exported', targetType: 'tenant', targetId: id, details: { status: tenant.status } });
      await withClient(withDatabase(await serverUrlOf(deps, tenant.dbServer), dbName), (client) =>
        writeTenantArchive(client, { id: tenant.id, slug: tenant.slug, name: tenant.name, plan: tenant.plan }, out),
      );
    },
  };
}

export interface TenantImportView extends TenantImport {
  /** The new tenant's first API key: in the first answer after the import completed, then never again. */
  apiKey: IssuedApiKey | null;
}

/**
 * Archives imported as new tenants. The upload is spooled to a file and read whole (inspectArchive)
 * before anything is made, so a corrupt, cut-short or foreign archive is 400 with nothing created; the
 * tenant is then provisioned as usual and its database loaded in one transaction, in the background,
 * as a job the caller follows (a million rows take longer than a proxied request may). A load that fails
 * takes its half-made tenant with it: database, role and row.
 */
export class TenantImports {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly deps: ProvisioningDeps & { maxBytes: number; audit: Pick<AuditWriter, 'append'> },
    private readonly spoolDir: string = tmpdir(),
    /** How long `start` waits for the whole-archive check (tests shorten it). */
    private readonly checkWaitMs = CHECK_WAIT_MS,
  ) {}

  async start(upload: Readable, wanted: { slug?: string; name?: string; plan?: string }, actor: AuditActor): Promise<TenantImport> {
    const { db } = this.deps;
    const file = path.join(this.spoolDir, `${SPOOL_PREFIX}${randomUUID()}`);
    try {
      await pipeline(upload, byteLimit(this.deps.maxBytes), createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
      await rm(file, { force: true });
      throw err instanceof AppError ? err : new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The upload was interrupted');
    }
    const checking = this.check(file, wanted);
    // Handled below either way; this keeps a late rejection from counting as unhandled meanwhile.
    checking.catch(() => undefined);
    const checked = await within(checking, this.checkWaitMs).catch(async (err: unknown) => {
      await rm(file, { force: true });
      throw err;
    });
    const createdBy = actor.actorId ?? null;
    if (checked) {
      const job = await insertTenantImport(db, { id: randomUUID(), ...checked.job, createdBy });
      this.track(this.run(job, file, checked.manifest, checked.input, actor), file);
      return job;
    }
    // A large archive still being read: the job exists now, and fails (nothing made) if the archive does.
    const job = await insertTenantImport(db, {
      id: randomUUID(),
      slug: wanted.slug ?? '',
      name: wanted.name ?? '',
      sourceTenantId: null,
      rowsTotal: 0,
      createdBy,
    });
    this.track(
      checking.then(
        async (late) => {
          await describeTenantImport(db, job.id, late.job);
          await this.run({ ...job, ...late.job }, file, late.manifest, late.input, actor);
        },
        (err: unknown) => finishTenantImport(db, job.id, { status: 'failed', failure: describeFailure(err) }),
      ),
      file,
    );
    return job;
  }

  /**
   * Reads the spooled archive whole (inspectArchive) against this platform's tenant schema, then settles
   * what the new tenant will be: slug, name and plan (the archive's unless given; its plan only if open here).
   */
  private async check(file: string, wanted: { slug?: string; name?: string; plan?: string }) {
    const { db } = this.deps;
    const expected = await withClient(withDatabase(this.deps.serverUrl, this.deps.templateDatabase), async (template) => ({
      migrations: await appliedMigrations(template),
      tables: await tenantTables(template),
    }));
    const manifest = await inspectArchive(file, expected);
    const source = manifest.header.tenant;
    const plan = wanted.plan ?? ((await planIsOpen(db, source.plan)) ? source.plan : undefined);
    const input = parseInput(CreateTenant, { slug: wanted.slug ?? source.slug, name: wanted.name ?? source.name, plan }, 'query');
    if (await findTenantBySlug(db, input.slug))
      throw new ConflictError(
        `A tenant with slug "${input.slug}" already exists; import under another with ?slug=`,
        { field: 'slug' },
        ErrorCode.TENANT_SLUG_TAKEN,
      );
    return { manifest, input, job: { slug: input.slug, name: input.name, sourceTenantId: source.id ?? null, rowsTotal: rowsToLoad(manifest) } };
  }

  private track(work: Promise<void>, file: string): void {
    const run = work.finally(() => {
      this.running.delete(run);
      return rm(file, { force: true });
    });
    this.running.add(run);
  }

  private async run(job: TenantImport, file: string, manifest: ArchiveManifest, input: { slug: string; name: string; plan?: string }, actor: AuditActor) {
    const { db, logger } = this.deps;
    let tenantId: string | undefined;
    let rowsLoaded = 0;
    let reported = 0;
    try {
      const result = await provisionTenant(
        this.deps,
        input,
        async (step, tenant) => {
          if (step === 'claimed') {
            tenantId = tenant.id;
            await recordTenantImportProgress(db, job.id, { tenantId });
          }
          if (step !== 'migrated') return;
          await withClient(withDatabase(await serverUrlOf(this.deps, tenant.dbServer), tenant.dbName!), async (client) => {
            await loadTenantArchive(client, archiveTextLines(file), {
              skipTables: TABLES_NOT_IMPORTED,
              onProgress: (rows) => {
                rowsLoaded = rows;
                if (Date.now() - reported < PROGRESS_EVERY_MS) return;
                reported = Date.now();
                void recordTenantImportProgress(db, job.id, { rowsLoaded: rows }).catch(() => undefined);
              },
            });
            await client.query('ANALYZE');
          });
        },
        actor,
      );
      await finishTenantImport(db, job.id, {
        status: 'completed',
        tenantId: result.tenant.id,
        rowsLoaded,
        apiKeySealed: this.deps.secrets.seal(JSON.stringify(result.apiKey)),
      });
      await this.deps.audit.append({
        ...actor,
        tenantId: result.tenant.id,
        action: 'tenant.imported',
        targetType: 'tenant',
        targetId: result.tenant.id,
        details: { from: manifest.header.tenant, exportedAt: manifest.header.exportedAt, rows: rowsLoaded, importId: job.id },
      });
      logger.info('tenant imported', { tenantId: result.tenant.id, importId: job.id, rows: rowsLoaded });
    } catch (err) {
      logger.warn('tenant import failed; its tenant is removed', { importId: job.id, tenantId, err });
      // Under the tenant's lock only: a second import of the same slug resumes the first one's claim and
      // fails on its lock, and must not remove the tenant the first is still loading.
      if (tenantId)
        await tryTenantLock(db, tenantId, () => discardUnfinishedTenant(this.deps, tenantId!)).catch((cleanupErr: unknown) =>
          logger.error('could not remove a failed import’s tenant', { tenantId, err: cleanupErr }),
        );
      await finishTenantImport(db, job.id, { status: 'failed', failure: describeFailure(err) }).catch(() => undefined);
    }
  }

  /** The job; after it completed, the first read carries the new tenant's key. */
  async view(id: string): Promise<TenantImportView> {
    const job = await findTenantImport(this.deps.db, id);
    if (!job) throw new NotFoundError('Tenant import not found', ErrorCode.TENANT_IMPORT_NOT_FOUND);
    const sealed = job.status === 'completed' ? await takeTenantImportApiKey(this.deps.db, id) : undefined;
    return { ...job, apiKey: sealed ? (JSON.parse(this.deps.secrets.open(sealed)) as IssuedApiKey) : null };
  }

  /** Waits for running imports (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}

/** Drops the database and role a failed import made, then its tenant row (never one that was activated). */
export async function discardUnfinishedTenant(deps: ProvisioningDeps, tenantId: string): Promise<void> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant || (tenant.status !== 'provisioning' && tenant.status !== 'failed')) return;
  if (tenant.dbName && tenant.dbRole)
    await withServerAdmin(await serverUrlOf(deps, tenant.dbServer), (admin) => dropTenantDatabase(admin, tenant.dbName!, tenant.dbRole!));
  await deleteUnfinishedTenant(deps.db, tenantId);
}

/** What a failed import's job says: PostgreSQL's reason for rows it refused, the platform's own message, or where to look. */
function describeFailure(err: unknown): string {
  if (isRowDataError(err)) return `the archive's rows do not load: ${((err as AppError).cause as Error).message}`;
  if (err instanceof AppError) return err.message;
  return 'the import failed on the platform side; see the admin service log';
}
