import type { Queryable } from '../db/pool';

/**
 * Removes an admin's second factor: the secret (enrolled or pending), its recovery codes and any
 * sign-in challenge in flight. The admin turning MFA off (auth service) and a super admin resetting a
 * lost device (admin service) both end here.
 */
export async function clearAdminSecondFactor(db: Queryable, adminId: string): Promise<void> {
  await db.query('UPDATE admins SET mfa_secret = NULL, mfa_pending_secret = NULL, mfa_enabled_at = NULL, mfa_last_step = NULL WHERE id = $1', [adminId]);
  await db.query('DELETE FROM admin_recovery_codes WHERE admin_id = $1', [adminId]);
  await db.query('DELETE FROM admin_mfa_challenges WHERE admin_id = $1', [adminId]);
}

/** The challenge between a correct password and the second factor: 256 random bits, only its SHA-256 stored. */
export const MFA_CHALLENGE_TOKEN = /^mfa_[A-Za-z0-9_-]{43}$/;
