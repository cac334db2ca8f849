import type { Queryable } from '@codex/shared';

export type SignupMode = 'open' | 'invite';

/** A tenant's sign-up setting from its master row; open unless the tenant says invite-only. */
export async function findSignupMode(db: Queryable, tenantId: string): Promise<SignupMode | undefined> {
  const { rows } = await db.query<{ signup: string | null }>(`SELECT settings->>'signup' AS signup FROM tenants WHERE id = $1 AND status = 'active'`, [
    tenantId,
  ]);
  if (!rows[0]) return undefined;
  return rows[0].signup === 'invite' ? 'invite' : 'open';
}
