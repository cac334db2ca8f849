import {
  currentPlatformConfig,
  ErrorCode,
  NotFoundError,
  PlatformSettings,
  recordAudit,
  withTransaction,
  type AuditActor,
  type PlatformConfigVersion,
  type PlatformSettingsValue,
  type Pool,
  type PoolClient,
  type Queryable,
} from '@codex/shared';

export interface SettingChange {
  path: string;
  before: unknown;
  after: unknown;
}

/** What differs between two settings documents, setting by setting (nested objects by their leaves). */
export function settingsDiff(before: unknown, after: unknown, path = ''): SettingChange[] {
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (isObject(before) && isObject(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].flatMap((key) => settingsDiff(before[key], after[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path, before: before ?? null, after: after ?? null }];
}

async function saveVersion(tx: PoolClient, settings: PlatformSettingsValue, actor: AuditActor, restoredFrom: number | null): Promise<PlatformConfigVersion> {
  // One writer at a time: the next version number is the newest plus one.
  await tx.query('LOCK TABLE platform_config_versions IN EXCLUSIVE MODE');
  const before = await currentPlatformConfig(tx);
  const { rows } = await tx.query<{ version: number; changed_at: Date }>(
    'INSERT INTO platform_config_versions (version, settings, changed_by, restored_from) VALUES ($1, $2, $3, $4) RETURNING version, changed_at',
    [before.version + 1, JSON.stringify(settings), actor.actorId ?? null, restoredFrom],
  );
  const diff = settingsDiff(before.settings, settings);
  await recordAudit(tx, {
    ...actor,
    action: restoredFrom === null ? 'config.changed' : 'config.rolled_back',
    targetType: 'config',
    targetId: String(rows[0]!.version),
    details: { version: rows[0]!.version, previousVersion: before.version, ...(restoredFrom === null ? {} : { restoredFrom }), diff },
  });
  return { version: rows[0]!.version, settings, changedBy: actor.actorId ?? null, changedAt: rows[0]!.changed_at, restoredFrom };
}

/** Saves a new version; the body was validated against PlatformSettings by the route, so nothing half-valid is saved. */
export function changePlatformSettings(db: Pool, settings: PlatformSettingsValue, actor: AuditActor): Promise<PlatformConfigVersion> {
  return withTransaction(db, (tx) => saveVersion(tx, settings, actor, null));
}

/** A new version with an earlier version's settings (read with today's defaults for settings added since). */
export function rollBackPlatformSettings(db: Pool, version: number, actor: AuditActor): Promise<PlatformConfigVersion> {
  return withTransaction(db, async (tx) => {
    const { rows } = await tx.query<{ settings: unknown }>('SELECT settings FROM platform_config_versions WHERE version = $1', [version]);
    if (!rows[0]) throw new NotFoundError(`No configuration version ${version}`, ErrorCode.CONFIG_VERSION_NOT_FOUND);
    return saveVersion(tx, PlatformSettings.parse(rows[0].settings), actor, version);
  });
}

/** Every saved version, newest first, each with what it changed against the one before. */
export async function platformSettingsHistory(
  db: Queryable,
  limit: number,
): Promise<Array<Omit<PlatformConfigVersion, 'settings'> & { changes: SettingChange[] }>> {
  const { rows } = await db.query<{
    version: number;
    settings: unknown;
    changed_by: string | null;
    changed_at: Date;
    restored_from: number | null;
    previous: unknown;
  }>(
    `SELECT version, settings, changed_by, changed_at, restored_from, lag(settings) OVER (ORDER BY version) AS previous
       FROM platform_config_versions ORDER BY version DESC LIMIT $1`,
    [limit],
  );
  const defaults = PlatformSettings.parse({});
  return rows.map((row) => ({
    version: row.version,
    changedBy: row.changed_by,
    changedAt: row.changed_at,
    restoredFrom: row.restored_from,
    changes: settingsDiff(row.previous ?? defaults, row.settings),
  }));
}
