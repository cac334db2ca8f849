import type { Queryable, TenantRole } from '@codex/shared';
import { ACCOUNT_COLUMNS, toAccount, type Account, type AccountRow } from './accounts-repo';

const COLUMNS = ACCOUNT_COLUMNS;
type UserRow = AccountRow;

export interface UserFilter {
  status?: Account['status'];
  role?: TenantRole;
  limit: number;
  offset: number;
}

export async function listUsers(db: Queryable, filter: UserFilter): Promise<{ items: Account[]; total: number }> {
  const where = '($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR role = $2)';
  const [page, count] = await Promise.all([
    db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE ${where} ORDER BY created_at, id LIMIT $3 OFFSET $4`, [
      filter.status ?? null,
      filter.role ?? null,
      filter.limit,
      filter.offset,
    ]),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE ${where}`, [filter.status ?? null, filter.role ?? null]),
  ]);
  return { items: page.rows.map(toAccount), total: count.rows[0]?.n ?? 0 };
}

export async function insertInvitedUser(db: Queryable, user: { email: string; name: string; role: TenantRole }): Promise<Account> {
  const { rows } = await db.query<UserRow>(`INSERT INTO users (email, name, role, status) VALUES ($1, $2, $3, 'invited') RETURNING ${COLUMNS}`, [
    user.email,
    user.name,
    user.role,
  ]);
  return toAccount(rows[0]!);
}

export async function updateUser(
  db: Queryable,
  id: string,
  changes: { name?: string; role?: TenantRole; status?: 'active' | 'disabled' },
): Promise<Account | undefined> {
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET name = COALESCE($2, name), role = COALESCE($3, role), status = COALESCE($4, status)
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.name ?? null, changes.role ?? null, changes.status ?? null],
  );
  return rows[0] && toAccount(rows[0]);
}

export async function deleteUser(db: Queryable, id: string): Promise<boolean> {
  return Boolean((await db.query('DELETE FROM users WHERE id = $1', [id])).rowCount);
}

/** Active owners other than `exceptId`, locked so two requests cannot remove the last two owners at once. */
export async function countOtherActiveOwners(db: Queryable, exceptId: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM users WHERE role = 'owner' AND status = 'active' AND id <> $1 FOR UPDATE`, [exceptId]);
  return rows.length;
}

export async function insertInvitation(db: Queryable, invitation: { userId: string; tokenHash: string; expiresAt: Date }): Promise<void> {
  await db.query('INSERT INTO invitations (user_id, token_hash, expires_at) VALUES ($1, $2, $3)', [
    invitation.userId,
    invitation.tokenHash,
    invitation.expiresAt,
  ]);
}

/** Marks an open invitation accepted and returns its user id, or undefined if none matches. */
export async function acceptInvitation(db: Queryable, tokenHash: string): Promise<string | undefined> {
  const { rows } = await db.query<{ user_id: string }>(
    `UPDATE invitations SET accepted_at = now()
      WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now()
      RETURNING user_id`,
    [tokenHash],
  );
  return rows[0]?.user_id;
}

export async function activateWithPassword(db: Queryable, userId: string, passwordHash: string): Promise<Account | undefined> {
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET password_hash = $2, status = 'active', email_verified_at = COALESCE(email_verified_at, now())
      WHERE id = $1 AND status = 'invited' RETURNING ${COLUMNS}`,
    [userId, passwordHash],
  );
  return rows[0] && toAccount(rows[0]);
}
