import { ErrorCode, ConflictError, ForbiddenError } from '../errors';
import { actsOnAllRecords } from './permissions';

/** The tenant user acting on tenant records, from the verified identity. */
export interface Actor {
  tenantId: string;
  userId: string;
  roles: string[];
}

/** Owners and admins change every record; members only those they own or created. */
export function assertMayChange(actor: Actor, record: { ownerId?: string | null; createdBy: string | null }): void {
  if (actsOnAllRecords(actor) || record.ownerId === actor.userId || record.createdBy === actor.userId) return;
  throw new ForbiddenError('Members can change only their own records', ErrorCode.NOT_YOUR_RECORD);
}

/** Members may assign a record only to themselves (or to nobody). */
export function assertMayAssign(actor: Actor, ownerId: string | null | undefined): void {
  if (ownerId && ownerId !== actor.userId && !actsOnAllRecords(actor)) {
    throw new ForbiddenError('Members can assign records only to themselves', ErrorCode.NOT_YOUR_RECORD);
  }
}

/** Optimistic concurrency: the caller must have read the current version (409 VERSION_CONFLICT otherwise). */
export function assertVersion(record: { version: number }, expected: number | undefined): void {
  if (expected !== undefined && record.version !== expected) {
    throw new ConflictError('The record changed since you read it; reload and retry', { currentVersion: record.version }, ErrorCode.VERSION_CONFLICT);
  }
}

/**
 * The record an actor is about to change, found under a row lock: 404
 * (`notFound`) when there is none, 403 when a member may not change it, 409
 * when `expectedVersion` is given and stale.
 */
export function changeableRecord<T extends { ownerId?: string | null; createdBy: string | null; version?: number }>(
  actor: Actor,
  record: T | undefined,
  notFound: () => Error,
  expectedVersion?: number,
): T {
  if (!record) throw notFound();
  assertMayChange(actor, record);
  if (expectedVersion !== undefined) assertVersion({ version: record.version ?? 0 }, expectedVersion);
  return record;
}
