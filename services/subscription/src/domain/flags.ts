import {
  ConflictError,
  ErrorCode,
  NotFoundError,
  bumpEntitlementsEpoch,
  listFeatureFlags,
  recordAudit,
  withTransaction,
  type FeatureFlag,
  type Pool,
} from '@codex/shared';
import { deleteFlag, findFlag, insertFlag, updateFlag, type FlagFields } from '../db/flags-repo';

export type { FlagFields };

const FLAG_NOT_FOUND = (key: string) => new NotFoundError(`No flag has the key ${JSON.stringify(key)}`, ErrorCode.FLAG_NOT_FOUND);

export const flags = (db: Pool) => listFeatureFlags(db);

export async function flagByKey(db: Pool, key: string): Promise<FeatureFlag> {
  const flag = await findFlag(db, key);
  if (!flag) throw FLAG_NOT_FOUND(key);
  return flag;
}

/** Every change is audited with the flag before and after, in the change's transaction. */
export async function createFlag(db: Pool, adminId: string, input: FlagFields): Promise<FeatureFlag> {
  return withTransaction(db, async (tx) => {
    const flag = await insertFlag(tx, input);
    if (!flag) throw new ConflictError(`A flag with the key ${JSON.stringify(input.key)} exists`, { field: 'key' }, ErrorCode.FLAG_EXISTS);
    await recordAudit(tx, {
      actorType: 'admin',
      actorId: adminId,
      action: 'flag.created',
      targetType: 'flag',
      targetId: flag.key,
      details: { before: null, after: flag },
    });
    await bumpEntitlementsEpoch(tx);
    return flag;
  });
}

export async function changeFlag(db: Pool, adminId: string, key: string, changes: Partial<Omit<FlagFields, 'key'>>): Promise<FeatureFlag> {
  return withTransaction(db, async (tx) => {
    const before = await findFlag(tx, key, true);
    if (!before) throw FLAG_NOT_FOUND(key);
    const definedChanges = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    const after = await updateFlag(tx, { ...before, ...definedChanges, key });
    await recordAudit(tx, { actorType: 'admin', actorId: adminId, action: 'flag.changed', targetType: 'flag', targetId: key, details: { before, after } });
    await bumpEntitlementsEpoch(tx);
    return after;
  });
}

export async function removeFlag(db: Pool, adminId: string, key: string): Promise<void> {
  await withTransaction(db, async (tx) => {
    const before = await findFlag(tx, key, true);
    if (!before || !(await deleteFlag(tx, key))) throw FLAG_NOT_FOUND(key);
    await recordAudit(tx, {
      actorType: 'admin',
      actorId: adminId,
      action: 'flag.deleted',
      targetType: 'flag',
      targetId: key,
      details: { before, after: null },
    });
    await bumpEntitlementsEpoch(tx);
  });
}
