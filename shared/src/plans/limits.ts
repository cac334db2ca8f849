import { AppError, ErrorCode } from '../errors';
import type { Queryable } from '../db/pool';
import type { Entitlements } from './entitlements';

/** Limits a create path can reach, and the plan limit each is held to. */
export const COUNTED_LIMITS = { users: 'maxUsers', clients: 'maxClients', storageBytes: 'storageBytes' } as const;
export type CountedLimit = keyof typeof COUNTED_LIMITS;

/**
 * How each counted limit is counted in a tenant's database: one definition for
 * the services that enforce it (auth, client) and the entitlements that report it.
 */
export const LIMIT_COUNTS: Record<CountedLimit, string> = {
  users: "SELECT count(*)::bigint AS n FROM users WHERE status <> 'disabled'",
  clients: 'SELECT count(*)::bigint AS n FROM clients WHERE deleted_at IS NULL',
  storageBytes: 'SELECT coalesce(sum(octet_length(body::text)), 0)::bigint AS n FROM content_versions',
};

export async function countInTenant(tx: Queryable, what: keyof typeof LIMIT_COUNTS): Promise<number> {
  const { rows } = await tx.query<{ n: string }>(LIMIT_COUNTS[what]);
  return Number(rows[0]?.n ?? 0);
}

/** 403 FEATURE_NOT_IN_PLAN unless the tenant (and user) has the feature. */
export async function requireFeature(entitlements: Entitlements, tenantId: string, feature: string, userId?: string): Promise<void> {
  if (!(await entitlements.hasFeature(tenantId, feature, userId)))
    throw new AppError(ErrorCode.FEATURE_NOT_IN_PLAN, 403, `The feature ${feature} is not in this tenant's plan`, { feature });
}

/**
 * In the transaction of a create in the tenant's database: 403
 * PLAN_LIMIT_REACHED when the tenant already has its plan's maximum. Exact
 * under concurrency: creates of one kind take turns on a transaction-scoped
 * advisory lock, so the count each sees includes every create committed before it.
 */
export async function assertWithinLimit(tx: Queryable, entitlements: Entitlements, tenantId: string, limit: CountedLimit, adding = 1): Promise<void> {
  const max = (await entitlements.of(tenantId))?.plan.limits[COUNTED_LIMITS[limit]];
  if (max === null || max === undefined) return;
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`plan-limit:${limit}`]);
  const current = await countInTenant(tx, limit);
  if (current + adding > max)
    throw new AppError(
      ErrorCode.PLAN_LIMIT_REACHED,
      403,
      limit === 'storageBytes' ? `This tenant's plan allows at most ${max} bytes of content` : `This tenant's plan allows at most ${max} ${limit}`,
      { limit, max, current },
    );
}

/** In the transaction that saves a content version: 403 PLAN_LIMIT_REACHED when its body would take the tenant past its storage. */
export async function assertRoomForContent(tx: Queryable, entitlements: Entitlements, tenantId: string, body: unknown): Promise<void> {
  const { rows } = await tx.query<{ n: number }>('SELECT octet_length($1::jsonb::text) AS n', [JSON.stringify(body)]);
  await assertWithinLimit(tx, entitlements, tenantId, 'storageBytes', Number(rows[0]?.n ?? 0));
}
