import type { AdminRole, Queryable } from '@codex/shared';

export type AdminStatus = 'active' | 'disabled';

export interface Admin {
  id: string;
  email: string;
  name: string;
  role: AdminRole;
  status: AdminStatus;
  /** False until the admin sets a password with their one-time token. */
  hasPassword: boolean;
  mfaEnrolled: boolean;
  lastLoginAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface AdminRow {
  id: string;
  email: string;
  name: string;
  role: AdminRole;
  status: AdminStatus;
  has_password: boolean;
  mfa_enrolled: boolean;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, email, name, role, status, password_hash IS NOT NULL AS has_password, mfa_secret IS NOT NULL AS mfa_enrolled, last_login_at, created_at, updated_at';

const toAdmin = (row: AdminRow): Admin => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  status: row.status,
  hasPassword: row.has_password,
  mfaEnrolled: row.mfa_enrolled,
  lastLoginAt: row.last_login_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export async function listAdmins(db: Queryable): Promise<Admin[]> {
  const { rows } = await db.query<AdminRow>(`SELECT ${COLUMNS} FROM admins ORDER BY created_at, id`);
  return rows.map(toAdmin);
}

export async function findAdmin(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<Admin | undefined> {
  const { rows } = await db.query<AdminRow>(`SELECT ${COLUMNS} FROM admins WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && toAdmin(rows[0]);
}

/** A new admin without a password: they set one with a one-time token. */
export async function insertAdmin(db: Queryable, admin: { email: string; name: string; role: AdminRole }): Promise<Admin> {
  const { rows } = await db.query<AdminRow>(`INSERT INTO admins (email, name, role, password_hash) VALUES ($1, $2, $3, NULL) RETURNING ${COLUMNS}`, [
    admin.email,
    admin.name,
    admin.role,
  ]);
  return toAdmin(rows[0]!);
}

export async function updateAdmin(db: Queryable, id: string, changes: { name?: string; role?: AdminRole; status?: AdminStatus }): Promise<Admin> {
  const { rows } = await db.query<AdminRow>(
    `UPDATE admins SET name = coalesce($2, name), role = coalesce($3, role), status = coalesce($4, status) WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.name ?? null, changes.role ?? null, changes.status ?? null],
  );
  return toAdmin(rows[0]!);
}

export async function deleteAdmin(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM admins WHERE id = $1', [id]);
}

/**
 * Locks every active super admin's row and returns their ids: two concurrent demotions of the last two
 * then run one after the other, and the second sees that only one is left.
 */
export async function lockActiveSuperAdmins(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM admins WHERE role = 'super_admin' AND status = 'active' ORDER BY id FOR UPDATE`);
  return rows.map((row) => row.id);
}

/** Ends the admin's refresh tokens (its access tokens are refused by the gateways through access_changes). */
export async function revokeAdminRefreshTokens(db: Queryable, adminId: string): Promise<void> {
  await db.query('UPDATE admin_refresh_tokens SET revoked_at = now() WHERE admin_id = $1 AND revoked_at IS NULL', [adminId]);
}

/** Forgets the admin's password and any token not yet used, and stores a new one-time token (its hash). */
export async function replacePasswordToken(
  db: Queryable,
  token: { hash: string; adminId: string; purpose: 'invite' | 'reset'; createdBy: string | null; expiresAt: Date },
): Promise<void> {
  await db.query('UPDATE admins SET password_hash = NULL WHERE id = $1', [token.adminId]);
  await db.query('DELETE FROM admin_password_tokens WHERE admin_id = $1 AND used_at IS NULL', [token.adminId]);
  await db.query('INSERT INTO admin_password_tokens (token_hash, admin_id, purpose, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)', [
    token.hash,
    token.adminId,
    token.purpose,
    token.createdBy,
    token.expiresAt,
  ]);
}
