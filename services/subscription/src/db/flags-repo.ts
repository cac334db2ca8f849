import { toFeatureFlag, type FeatureFlag, type Queryable } from '@codex/shared';

export type FlagFields = Omit<FeatureFlag, 'version' | 'createdAt' | 'updatedAt'>;

type FlagRow = Parameters<typeof toFeatureFlag>[0];

/** A flag's columns in order: key, description, enabled, default_value, plan_values, tenant_overrides, rollout, variants. */
const flagValues = (flag: FlagFields) => [
  flag.key,
  flag.description,
  flag.enabled,
  flag.defaultValue,
  JSON.stringify(flag.planValues),
  JSON.stringify(flag.tenantOverrides),
  flag.rollout && JSON.stringify(flag.rollout),
  JSON.stringify(flag.variants),
];

export async function findFlag(db: Queryable, key: string, lock = false): Promise<FeatureFlag | undefined> {
  const { rows } = await db.query<FlagRow>(`SELECT * FROM feature_flags WHERE key = $1${lock ? ' FOR UPDATE' : ''}`, [key]);
  return rows[0] && toFeatureFlag(rows[0]);
}

/** Inserts a flag; undefined when the key is taken. */
export async function insertFlag(db: Queryable, flag: FlagFields): Promise<FeatureFlag | undefined> {
  const { rows } = await db.query<FlagRow>(
    `INSERT INTO feature_flags (key, description, enabled, default_value, plan_values, tenant_overrides, rollout, variants)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING RETURNING *`,
    flagValues(flag),
  );
  return rows[0] && toFeatureFlag(rows[0]);
}

export async function updateFlag(db: Queryable, flag: FlagFields): Promise<FeatureFlag> {
  const { rows } = await db.query<FlagRow>(
    `UPDATE feature_flags SET description = $2, enabled = $3, default_value = $4, plan_values = $5, tenant_overrides = $6,
       rollout = $7, variants = $8, version = version + 1
     WHERE key = $1 RETURNING *`,
    flagValues(flag),
  );
  return toFeatureFlag(rows[0]!);
}

export async function deleteFlag(db: Queryable, key: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM feature_flags WHERE key = $1', [key]);
  return Boolean(rowCount);
}
