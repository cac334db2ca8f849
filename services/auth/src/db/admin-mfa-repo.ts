import type { Queryable } from '@codex/shared';

/** An admin's second factor as stored: secrets sealed, never in the clear. */
export interface AdminMfaState {
  secretSealed: string | null;
  pendingSecretSealed: string | null;
  enabledAt: Date | null;
  lastStep: number | null;
}

export async function findAdminMfa(db: Queryable, adminId: string, options: { forUpdate?: boolean } = {}): Promise<AdminMfaState | undefined> {
  const { rows } = await db.query<{ mfa_secret: string | null; mfa_pending_secret: string | null; mfa_enabled_at: Date | null; mfa_last_step: string | null }>(
    `SELECT mfa_secret, mfa_pending_secret, mfa_enabled_at, mfa_last_step FROM admins WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [adminId],
  );
  const row = rows[0];
  return (
    row && {
      secretSealed: row.mfa_secret,
      pendingSecretSealed: row.mfa_pending_secret,
      enabledAt: row.mfa_enabled_at,
      lastStep: row.mfa_last_step === null ? null : Number(row.mfa_last_step),
    }
  );
}

export async function setPendingMfaSecret(db: Queryable, adminId: string, sealed: string): Promise<void> {
  await db.query('UPDATE admins SET mfa_pending_secret = $2 WHERE id = $1', [adminId, sealed]);
}

/** The pending secret becomes the admin's second factor; `step` is the time step of the code that proved it. */
export async function activateMfa(db: Queryable, adminId: string, step: number): Promise<void> {
  await db.query('UPDATE admins SET mfa_secret = mfa_pending_secret, mfa_pending_secret = NULL, mfa_enabled_at = now(), mfa_last_step = $2 WHERE id = $1', [
    adminId,
    step,
  ]);
}

export async function recordMfaStep(db: Queryable, adminId: string, step: number): Promise<void> {
  await db.query('UPDATE admins SET mfa_last_step = $2 WHERE id = $1', [adminId, step]);
}

/** The admin's recovery codes become exactly these (hashes); any earlier set stops working. */
export async function replaceRecoveryCodes(db: Queryable, adminId: string, codeHashes: string[]): Promise<void> {
  await db.query('DELETE FROM admin_recovery_codes WHERE admin_id = $1', [adminId]);
  await db.query('INSERT INTO admin_recovery_codes (admin_id, code_hash) SELECT $1, unnest($2::text[])', [adminId, codeHashes]);
}

/** Spends an unused recovery code; false when it is unknown or spent. */
export async function spendRecoveryCode(db: Queryable, adminId: string, codeHash: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE admin_recovery_codes SET used_at = now() WHERE admin_id = $1 AND code_hash = $2 AND used_at IS NULL', [
    adminId,
    codeHash,
  ]);
  return rowCount === 1;
}

export async function countUnusedRecoveryCodes(db: Queryable, adminId: string): Promise<number> {
  const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM admin_recovery_codes WHERE admin_id = $1 AND used_at IS NULL', [
    adminId,
  ]);
  return rows[0]!.count;
}

export interface MfaChallenge {
  adminId: string;
  purpose: 'verify' | 'enrol';
  failedAttempts: number;
  expiresAt: Date;
  completedAt: Date | null;
}

export async function insertMfaChallenge(
  db: Queryable,
  challenge: { tokenHash: string; adminId: string; purpose: MfaChallenge['purpose']; expiresAt: Date },
): Promise<void> {
  // Expired challenges are of no use to anyone: the sign-in that makes a new one sweeps its admin's old ones.
  await db.query('DELETE FROM admin_mfa_challenges WHERE admin_id = $1 AND expires_at < now()', [challenge.adminId]);
  await db.query('INSERT INTO admin_mfa_challenges (token_hash, admin_id, purpose, expires_at) VALUES ($1, $2, $3, $4)', [
    challenge.tokenHash,
    challenge.adminId,
    challenge.purpose,
    challenge.expiresAt,
  ]);
}

/** The challenge, locked for the rest of the transaction (attempts on one challenge are counted one at a time). */
export async function findMfaChallengeForUpdate(db: Queryable, tokenHash: string): Promise<MfaChallenge | undefined> {
  const { rows } = await db.query<{ admin_id: string; purpose: MfaChallenge['purpose']; failed_attempts: number; expires_at: Date; completed_at: Date | null }>(
    'SELECT admin_id, purpose, failed_attempts, expires_at, completed_at FROM admin_mfa_challenges WHERE token_hash = $1 FOR UPDATE',
    [tokenHash],
  );
  const row = rows[0];
  return row && { adminId: row.admin_id, purpose: row.purpose, failedAttempts: row.failed_attempts, expiresAt: row.expires_at, completedAt: row.completed_at };
}

export async function recordFailedMfaAttempt(db: Queryable, tokenHash: string): Promise<number> {
  const { rows } = await db.query<{ failed_attempts: number }>(
    'UPDATE admin_mfa_challenges SET failed_attempts = failed_attempts + 1 WHERE token_hash = $1 RETURNING failed_attempts',
    [tokenHash],
  );
  return rows[0]?.failed_attempts ?? 0;
}

export async function completeMfaChallenge(db: Queryable, tokenHash: string): Promise<void> {
  await db.query('UPDATE admin_mfa_challenges SET completed_at = now() WHERE token_hash = $1', [tokenHash]);
}
