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
  /** The token this one was exchanged for, and that token sealed (kept for the reuse grace window). */
  replacedBy: string | null;
  successorSealed: string | null;
}

interface Row {
  id: string;
  owner_id: string;
  family_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  replaced_by: string | null;
  successor_sealed: string | null;
}

export async function insertRefreshToken(
  db: Queryable,
  kind: RefreshTokenKind,
  token: { ownerId: string; familyId: string; hash: string; expiresAt: Date },
): Promise<string> {
  const { table, owner } = REFRESH_TOKEN_TABLES[kind];
  const { rows } = await db.query<{ id: string }>(`INSERT INTO ${table} (${owner}, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`, [
    token.ownerId,
    token.familyId,
    token.hash,
    token.expiresAt,
  ]);
  return rows[0]!.id;
}

/** Locks the token's row for the rest of the transaction, so one token is rotated once. */
export async function findRefreshTokenForUpdate(db: Queryable, kind: RefreshTokenKind, hash: string): Promise<StoredRefreshToken | undefined> {
  const { table, owner } = REFRESH_TOKEN_TABLES[kind];
  const { rows } = await db.query<Row>(
    `SELECT id, ${owner} AS owner_id, family_id, expires_at, used_at, revoked_at, replaced_by, successor_sealed FROM ${table} WHERE token_hash = $1 FOR UPDATE`,
    [hash],
  );
  const row = rows[0];
  return (
    row && {
      id: row.id,
      ownerId: row.owner_id,
      familyId: row.family_id,
      expiresAt: row.expires_at,
      usedAt: row.used_at,
      revokedAt: row.revoked_at,
      replacedBy: row.replaced_by,
      successorSealed: row.successor_sealed,
    }
  );
}

/** A token one was exchanged for, unless it has been used or revoked since. */
export async function findLiveRefreshToken(db: Queryable, kind: RefreshTokenKind, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM ${REFRESH_TOKEN_TABLES[kind].table} WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL`, [id]);
  return Boolean(rowCount);
}

/**
 * Marks a token spent, noting what it was exchanged for (sealed); the token it
 * was itself exchanged from forgets its successor (no longer returnable).
 */
export async function markRefreshTokenUsed(db: Queryable, kind: RefreshTokenKind, id: string, successor: { id: string; sealed: string }): Promise<void> {
  const { table } = REFRESH_TOKEN_TABLES[kind];
  await db.query(`UPDATE ${table} SET used_at = now(), replaced_by = $2, successor_sealed = $3 WHERE id = $1`, [id, successor.id, successor.sealed]);
  await db.query(`UPDATE ${table} SET successor_sealed = NULL WHERE replaced_by = $1`, [id]);
}

export async function revokeRefreshFamily(db: Queryable, kind: RefreshTokenKind, familyId: string): Promise<void> {
  await db.query(`UPDATE ${REFRESH_TOKEN_TABLES[kind].table} SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, [familyId]);
}

export async function revokeAllRefreshTokensOf(db: Queryable, kind: RefreshTokenKind, ownerId: string): Promise<void> {
  const { table, owner } = REFRESH_TOKEN_TABLES[kind];
  await db.query(`UPDATE ${table} SET revoked_at = now() WHERE ${owner} = $1 AND revoked_at IS NULL`, [ownerId]);
}
