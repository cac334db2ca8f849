import {
  assertRoomForContent,
  ErrorCode,
  changeableRecord,
  type Entitlements,
  uniqueConflict,
  NotFoundError,
  ValidationError,
  type Actor,
  type PoolClient,
  type TenantPoolCache,
} from '@codex/shared';
import {
  deleteEntry,
  findEntry,
  findPublished,
  insertEntry,
  listEntries,
  listVersions,
  setPublication,
  updateEntry,
  versionExists,
  type ContentEntry,
  type ContentInput,
} from '../db/content-repo';

const NOT_FOUND = () => new NotFoundError('Content entry not found', ErrorCode.CONTENT_NOT_FOUND);

function slugClash(err: unknown): never {
  throw uniqueConflict(err, 'entry of this type', ErrorCode.CONTENT_SLUG_TAKEN, { content_entries_slug_key: 'slug' });
}

async function lockedEntry(tx: PoolClient, actor: Actor, id: string, expectedVersion?: number): Promise<ContentEntry> {
  return changeableRecord(actor, await findEntry(tx, id, true), NOT_FOUND, expectedVersion);
}

/** Every saved version counts towards the plan's storage (403 PLAN_LIMIT_REACHED past it). */
export const createEntry = (tenants: TenantPoolCache, entitlements: Entitlements, actor: Actor, input: ContentInput) =>
  tenants.transaction(actor.tenantId, async (tx) => {
    await assertRoomForContent(tx, entitlements, actor.tenantId, input.body);
    return insertEntry(tx, input, actor.userId).catch(slugClash);
  });

export async function getEntry(tenants: TenantPoolCache, actor: Actor, id: string) {
  const entry = await tenants.withConnection(actor.tenantId, (db) => findEntry(db, id));
  if (!entry) throw NOT_FOUND();
  return entry;
}

export const entries = (tenants: TenantPoolCache, actor: Actor, filter: { type?: string; limit: number; offset: number }) =>
  tenants.withConnection(actor.tenantId, (db) => listEntries(db, filter));

export async function entryVersions(tenants: TenantPoolCache, actor: Actor, id: string) {
  return tenants.withConnection(actor.tenantId, async (db) => {
    if (!(await findEntry(db, id))) throw NOT_FOUND();
    return listVersions(db, id);
  });
}

/** Saves a new version; the live (published) version changes only when published again. */
export const changeEntry = (
  tenants: TenantPoolCache,
  entitlements: Entitlements,
  actor: Actor,
  id: string,
  expectedVersion: number,
  changes: Partial<ContentInput>,
) =>
  tenants.transaction(actor.tenantId, async (tx) => {
    const entry = await lockedEntry(tx, actor, id, expectedVersion);
    await assertRoomForContent(tx, entitlements, actor.tenantId, changes.body ?? entry.body);
    return updateEntry(tx, id, changes, actor.userId).catch(slugClash);
  });

/** Publishes a version (the latest by default) now, or from `at` on (scheduled). */
export const publishEntry = (tenants: TenantPoolCache, actor: Actor, id: string, options: { at?: Date; version?: number }) =>
  tenants.transaction(actor.tenantId, async (tx) => {
    const entry = await lockedEntry(tx, actor, id);
    const version = options.version ?? entry.version;
    if (!(await versionExists(tx, id, version)))
      throw new ValidationError('No such version', [{ path: 'body.version', message: 'no such version of this entry' }]);
    return setPublication(tx, id, { version, at: options.at ?? null });
  });

export const unpublishEntry = (tenants: TenantPoolCache, actor: Actor, id: string) =>
  tenants.transaction(actor.tenantId, async (tx) => {
    await lockedEntry(tx, actor, id);
    return setPublication(tx, id, { version: null, at: null });
  });

export const removeEntry = (tenants: TenantPoolCache, actor: Actor, id: string) =>
  tenants.transaction(actor.tenantId, async (tx) => {
    await lockedEntry(tx, actor, id);
    await deleteEntry(tx, id);
  });

/** The public view of a published entry, for a tenant app calling with only its API key. */
export async function publishedEntry(tenants: TenantPoolCache, tenantId: string, type: string, slug: string) {
  const entry = await tenants.withConnection(tenantId, (db) => findPublished(db, type, slug));
  if (!entry) throw NOT_FOUND();
  return entry;
}
