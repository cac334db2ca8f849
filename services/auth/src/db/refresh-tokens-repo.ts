import type { Queryable } from '@codex/shared';

/** Tenant users' tokens live in the tenant database, admins' in the master; same shape, different owner column. */
export const REFRESH_TOKEN_TABLES = {
  user: { table: 'refresh_tokens', owner: 'user_id' },
  admin: { table: 'admin_refresh_tokens', owner: 'admin_id' },
} as const;
export type RefreshTokenKind = keyof typeof REFRESH_TOKEN_TABLES;

export interface StoredRefreshToken {
  id: string;
  ownerId: string;
  familyId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

interface Row {
  id: string;
  owner_id: string;
  family_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export async function insertRefreshToken(
  db: Queryable,
  kind: RefreshTokenKind,
  token: { ownerId: string; familyId: string; hash: string; expiresAt: Date },
): Promise<void> {
  const { table, owner } = REFRESH_TOKEN_TABLES[kind];
  await db.query(`INSERT INTO ${table} (${owner}, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)`, [
    token.ownerId,
    token.familyId,
    token.hash,
    token.expiresAt,
  ]);
}

/** Locks the token's row for the rest of the transaction, so one token is rotated once. */
export async function findRefreshTokenForUpdate(db: Queryable, kind: RefreshTokenKind, hash: string): Promise<StoredRefreshToken | undefined> {
  const { table, owner } = REFRESH_TOKEN_TABLES[kind];
  const { rows } = await db.query<Row>(
    `SELECT id, ${owner} AS owner_id, family_id, expires_at, used_at, revoked_at FROM ${table} WHERE token_hash = $1 FOR UPDATE`,
    [hash],
  );
  const row = rows[0];
  return row && { id: row.id, ownerId: row.owner_id, familyId: row.family_id, expiresAt: row.expires_at, usedAt: row.used_at, revokedAt: row.revoked_at };
}

export async function markRefreshTokenUsed(db: Queryable, kind: RefreshTokenKind, id: string): Promise<void> {
  await db.query(`UPDATE ${REFRESH_TOKEN_TABLES[kind].table} SET used_at = now() WHERE id = $1`, [id]);
}

export async function revokeRefreshFamily(db: Queryable, kind: RefreshTokenKind, familyId: string): Promise<void> {
  await db.query(`UPDATE ${REFRESH_TOKEN_TABLES[kind].table} SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, [familyId]);
}

export async function revokeAllRefreshTokensOf(db: Queryable, kind: RefreshTokenKind, ownerId: string): Promise<void> {
  const { table, owner } = REFRESH_TOKEN_TABLES[kind];
  await db.query(`UPDATE ${table} SET revoked_at = now() WHERE ${owner} = $1 AND revoked_at IS NULL`, [ownerId]);
}
