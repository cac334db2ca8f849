import type { Queryable } from '@codex/shared';

/** A person who can log in: a tenant user (tenant DB `users`) or a platform admin (master `admins`). */
export interface Account {
  id: string;
  email: string;
  name: string;
  role: string;
  status: 'active' | 'invited' | 'disabled';
  passwordHash: string | null;
  createdAt: Date;
}

export interface AccountRow {
  id: string;
  email: string;
  name: string;
  role: string;
  status: Account['status'];
  password_hash: string | null;
  created_at: Date;
}

const ACCOUNT_TABLES = { user: 'users', admin: 'admins' } as const;
export type AccountKind = keyof typeof ACCOUNT_TABLES;

/** The columns every account query selects, in the order toAccount reads them. */
export const ACCOUNT_COLUMNS = 'id, email, name, role, status, password_hash, created_at';
const COLUMNS = ACCOUNT_COLUMNS;

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
  };
}

/** The public view of an account: never the hash. */
export function publicAccount(account: Account): Omit<Account, 'passwordHash'> {
  const { passwordHash: _hash, ...rest } = account;
  return rest;
}

export async function findAccountByEmail(db: Queryable, kind: AccountKind, email: string): Promise<Account | undefined> {
  const { rows } = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM ${ACCOUNT_TABLES[kind]} WHERE lower(email) = lower($1)`, [email]);
  return rows[0] && toAccount(rows[0]);
}

export async function findAccountById(db: Queryable, kind: AccountKind, id: string): Promise<Account | undefined> {
  const { rows } = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM ${ACCOUNT_TABLES[kind]} WHERE id = $1`, [id]);
  return rows[0] && toAccount(rows[0]);
}

/** Inserts a tenant user; the first user of a tenant becomes its owner. */
export async function insertUser(db: Queryable, user: { email: string; name: string; passwordHash: string }): Promise<Account> {
  const { rows } = await db.query<AccountRow>(
    `INSERT INTO users (email, name, password_hash, role)
     VALUES ($1, $2, $3, CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'member' ELSE 'owner' END)
     RETURNING ${COLUMNS}`,
    [user.email, user.name, user.passwordHash],
  );
  return toAccount(rows[0]!);
}

export async function recordLogin(db: Queryable, kind: AccountKind, id: string): Promise<void> {
  await db.query(`UPDATE ${ACCOUNT_TABLES[kind]} SET last_login_at = now() WHERE id = $1`, [id]);
}

export async function updatePasswordHash(db: Queryable, kind: AccountKind, id: string, passwordHash: string): Promise<void> {
  await db.query(`UPDATE ${ACCOUNT_TABLES[kind]} SET password_hash = $2 WHERE id = $1`, [id, passwordHash]);
}

/** Every platform admin, oldest first. */
export async function listAdminAccounts(db: Queryable): Promise<Account[]> {
  const { rows } = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM admins ORDER BY created_at, id`);
  return rows.map(toAccount);
}

/** Inserts a platform admin. */
export async function insertAdmin(db: Queryable, admin: { email: string; name: string; role: string; passwordHash: string }): Promise<Account> {
  const { rows } = await db.query<AccountRow>(`INSERT INTO admins (email, name, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`, [
    admin.email,
    admin.name,
    admin.role,
    admin.passwordHash,
  ]);
  return toAccount(rows[0]!);
}

/** Marks an unexpired, unused admin password token used and returns its admin; undefined otherwise. */
export async function consumeAdminPasswordToken(db: Queryable, tokenHash: string): Promise<string | undefined> {
  const { rows } = await db.query<{ admin_id: string }>(
    `UPDATE admin_password_tokens SET used_at = now()
      WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
      RETURNING admin_id`,
    [tokenHash],
  );
  return rows[0]?.admin_id;
}
