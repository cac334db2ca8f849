import { randomBytes } from 'node:crypto';
import {
  AppError,
  clearAdminSecondFactor,
  ConflictError,
  ErrorCode,
  hashOpaqueToken,
  recordAudit,
  UnauthorizedError,
  ValidationError,
  withTransaction,
  type PoolClient,
} from '@codex/shared';
import {
  activateMfa,
  completeMfaChallenge,
  countUnusedRecoveryCodes,
  findAdminMfa,
  findMfaChallengeForUpdate,
  insertMfaChallenge,
  recordFailedMfaAttempt,
  recordMfaStep,
  replaceRecoveryCodes,
  setPendingMfaSecret,
  spendRecoveryCode,
  type AdminMfaState,
  type MfaChallenge,
} from '../db/admin-mfa-repo';
import { findAccountById, type Account } from '../db/accounts-repo';
import { adminRealm, signIn, type AuthDeps, type SignedIn } from './accounts';
import { acceptedTotpStep, newRecoveryCode, newTotpSecret, totpUri } from './totp';

/** How long the step between password and second factor may take. */
export const MFA_CHALLENGE_TTL_SECONDS = 5 * 60;
/** Wrong codes a challenge takes before it is locked and the sign-in must start again. */
export const MFA_MAX_ATTEMPTS = 5;
const RECOVERY_CODE_COUNT = 10;

/** Case, spaces and dashes do not matter when a recovery code is typed back. */
const recoveryCodeHash = (code: string): string => hashOpaqueToken(code.toLowerCase().replace(/[\s-]/g, ''));

async function issueRecoveryCodes(tx: PoolClient, adminId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await replaceRecoveryCodes(tx, adminId, codes.map(recoveryCodeHash));
  return codes;
}

/** The pending secret proved by the code at `step` becomes the admin's second factor; its recovery codes come back once. */
async function turnOnMfa(tx: PoolClient, adminId: string, step: number): Promise<string[]> {
  await activateMfa(tx, adminId, step);
  const recoveryCodes = await issueRecoveryCodes(tx, adminId);
  await recordAudit(tx, { actorType: 'admin', actorId: adminId, action: 'admin.mfa_enabled', targetType: 'admin', targetId: adminId });
  return recoveryCodes;
}

/** What enrolment hands the authenticator app: the secret (to type in) and the otpauth URI (for a QR code). */
export interface Enrolment {
  secret: string;
  otpauthUri: string;
}

async function startEnrolment(authDeps: AuthDeps, db: PoolClient, account: Account): Promise<Enrolment> {
  const secret = newTotpSecret();
  await setPendingMfaSecret(db, account.id, authDeps.secrets.seal(secret));
  return { secret, otpauthUri: totpUri(secret, account.email) };
}

const openSecret = (authDeps: AuthDeps, sealed: string | null): string | undefined => (sealed ? authDeps.secrets.open(sealed) : undefined);

/** The step of a right, unused TOTP code for the admin's enrolled secret; undefined otherwise. */
async function enrolledStep(authDeps: AuthDeps, mfa: AdminMfaState, code: string): Promise<number | undefined> {
  const secret = openSecret(authDeps, mfa.secretSealed);
  return secret ? acceptedTotpStep(secret, code, mfa.lastStep) : undefined;
}

const WRONG_CODE = (path: string) =>
  new AppError(ErrorCode.MFA_CODE_INVALID, 400, 'The code is wrong or was already used', [{ path, message: 'is wrong or was already used' }]);

/**
 * Called after a correct password: when the admin has a second factor, or the platform requires one,
 * a challenge is stored and the sign-in answers 401 MFA_REQUIRED (or MFA_ENROLMENT_REQUIRED) carrying
 * its token in `details`. Returns when no second factor is asked for.
 */
export async function demandSecondFactor(authDeps: AuthDeps, adminId: string): Promise<void> {
  const mfa = await findAdminMfa(authDeps.master, adminId);
  const enrolled = Boolean(mfa?.secretSealed);
  if (!enrolled && !(await authDeps.platformConfig.current()).settings.mfaRequired) return;
  const challengeToken = `mfa_${randomBytes(32).toString('base64url')}`;
  await insertMfaChallenge(authDeps.master, {
    tokenHash: hashOpaqueToken(challengeToken),
    adminId,
    purpose: enrolled ? 'verify' : 'enrol',
    expiresAt: new Date(Date.now() + MFA_CHALLENGE_TTL_SECONDS * 1000),
  });
  const details = { challengeToken, expiresIn: MFA_CHALLENGE_TTL_SECONDS, enrolment: !enrolled };
  throw enrolled
    ? new AppError(ErrorCode.MFA_REQUIRED, 401, 'Enter the code from your authenticator app, or a recovery code', details)
    : new AppError(ErrorCode.MFA_ENROLMENT_REQUIRED, 401, 'This platform requires a second factor: enrol an authenticator app to finish signing in', details);
}

const CHALLENGE_INVALID = () => new UnauthorizedError('The sign-in challenge is unknown, used or expired; sign in again', ErrorCode.MFA_CHALLENGE_INVALID);
const CHALLENGE_LOCKED = () => new UnauthorizedError('Too many wrong codes for this sign-in; sign in again', ErrorCode.MFA_CHALLENGE_LOCKED);

/** The open challenge and its active admin, locked for this transaction; throws when it cannot be answered. */
async function openChallenge(tx: PoolClient, tokenHash: string): Promise<{ challenge: MfaChallenge; account: Account }> {
  const challenge = await findMfaChallengeForUpdate(tx, tokenHash);
  if (!challenge || challenge.completedAt || challenge.expiresAt.getTime() <= Date.now()) throw CHALLENGE_INVALID();
  if (challenge.failedAttempts >= MFA_MAX_ATTEMPTS) throw CHALLENGE_LOCKED();
  const account = await findAccountById(tx, 'admin', challenge.adminId);
  if (account?.status !== 'active') throw CHALLENGE_INVALID();
  return { challenge, account };
}

/** During a sign-in the platform requires MFA for: a secret for the admin's authenticator app. */
export async function enrolDuringSignIn(authDeps: AuthDeps, challengeToken: string): Promise<Enrolment> {
  return withTransaction(authDeps.master, async (tx) => {
    const { challenge, account } = await openChallenge(tx, hashOpaqueToken(challengeToken));
    if (challenge.purpose !== 'enrol') throw new ConflictError('This admin already has a second factor', undefined, ErrorCode.MFA_ALREADY_ENABLED);
    return startEnrolment(authDeps, tx, account);
  });
}

export type SecondFactorAnswer = { code: string; recoveryCode?: undefined } | { recoveryCode: string; code?: undefined };

/**
 * Finishes a sign-in with the second factor: a TOTP code (each code works once) or an unused recovery
 * code; for an enrolment challenge, the first code from the new secret, which turns MFA on and returns
 * the recovery codes (shown once). A wrong answer is counted (committed) and answered 401
 * MFA_CODE_INVALID; the fifth locks the challenge.
 */
export async function completeSignInWithSecondFactor(
  authDeps: AuthDeps,
  input: { challengeToken: string } & SecondFactorAnswer,
): Promise<SignedIn & { recoveryCodes?: string[] }> {
  const tokenHash = hashOpaqueToken(input.challengeToken);
  type Outcome = { failed: number } | { signedIn: SignedIn & { recoveryCodes?: string[] } };
  const outcome = await withTransaction(authDeps.master, async (tx): Promise<Outcome> => {
    const { challenge, account } = await openChallenge(tx, tokenHash);
    const mfa = (await findAdminMfa(tx, account.id, { forUpdate: true }))!;
    let secondFactor: string | undefined;
    let recoveryCodes: string[] | undefined;
    if (challenge.purpose === 'enrol') {
      const pending = openSecret(authDeps, mfa.pendingSecretSealed);
      if (!pending) throw new ConflictError('Start enrolment first: POST /api/v1/auth/admin/login/mfa/enrol', undefined, ErrorCode.MFA_NOT_ENROLLING);
      const step = input.code ? await acceptedTotpStep(pending, input.code, null) : undefined;
      if (step !== undefined) {
        recoveryCodes = await turnOnMfa(tx, account.id, step);
        secondFactor = 'totp';
      }
    } else if (input.code) {
      const step = await enrolledStep(authDeps, mfa, input.code);
      if (step !== undefined) {
        await recordMfaStep(tx, account.id, step);
        secondFactor = 'totp';
      }
    } else if (input.recoveryCode && (await spendRecoveryCode(tx, account.id, recoveryCodeHash(input.recoveryCode)))) {
      secondFactor = 'recovery_code';
    }
    if (!secondFactor) {
      const failed = await recordFailedMfaAttempt(tx, tokenHash);
      await recordAudit(tx, {
        actorType: 'admin',
        actorId: account.id,
        action: 'admin.mfa_failed',
        targetType: 'admin',
        targetId: account.id,
        details: { method: input.code ? 'totp' : 'recovery_code', failedAttempts: failed },
      });
      // Returned, not thrown: the count must commit.
      return { failed };
    }
    await completeMfaChallenge(tx, tokenHash);
    const signedIn = await signIn(authDeps, adminRealm(authDeps.master), tx, account, secondFactor);
    return { signedIn: recoveryCodes ? { ...signedIn, recoveryCodes } : signedIn };
  });
  if ('failed' in outcome) {
    const attemptsLeft = Math.max(0, MFA_MAX_ATTEMPTS - outcome.failed);
    throw new AppError(
      attemptsLeft === 0 ? ErrorCode.MFA_CHALLENGE_LOCKED : ErrorCode.MFA_CODE_INVALID,
      401,
      attemptsLeft === 0 ? 'Too many wrong codes for this sign-in; sign in again' : 'The code is wrong or was already used',
      { attemptsLeft },
    );
  }
  return outcome.signedIn;
}

/** A signed-in admin's own second factor. */
export async function mfaStatus(authDeps: AuthDeps, adminId: string) {
  const mfa = await findAdminMfa(authDeps.master, adminId);
  return {
    enabled: Boolean(mfa?.secretSealed),
    enabledAt: mfa?.enabledAt ?? null,
    enrolling: Boolean(mfa?.pendingSecretSealed),
    recoveryCodesLeft: mfa?.secretSealed ? await countUnusedRecoveryCodes(authDeps.master, adminId) : 0,
    requiredByPlatform: (await authDeps.platformConfig.current()).settings.mfaRequired,
  };
}

async function lockedAdmin(tx: PoolClient, adminId: string): Promise<{ account: Account; mfa: AdminMfaState }> {
  const mfa = await findAdminMfa(tx, adminId, { forUpdate: true });
  const account = await findAccountById(tx, 'admin', adminId);
  if (!mfa || account?.status !== 'active') throw new UnauthorizedError('Account is not active', ErrorCode.ACCOUNT_INACTIVE);
  return { account, mfa };
}

const NOT_ENABLED = () => new ConflictError('This admin has no second factor', undefined, ErrorCode.MFA_NOT_ENABLED);

/** A signed-in admin starts enrolling an authenticator app (again, if an earlier try was left unfinished). */
export async function beginEnrolment(authDeps: AuthDeps, adminId: string): Promise<Enrolment> {
  return withTransaction(authDeps.master, async (tx) => {
    const { account, mfa } = await lockedAdmin(tx, adminId);
    if (mfa.secretSealed) throw new ConflictError('This admin already has a second factor', undefined, ErrorCode.MFA_ALREADY_ENABLED);
    return startEnrolment(authDeps, tx, account);
  });
}

/** The first code from the new secret turns MFA on; the ten recovery codes are returned once. */
export async function activateEnrolment(authDeps: AuthDeps, adminId: string, code: string): Promise<{ recoveryCodes: string[] }> {
  return withTransaction(authDeps.master, async (tx) => {
    const { mfa } = await lockedAdmin(tx, adminId);
    const pending = openSecret(authDeps, mfa.pendingSecretSealed);
    if (!pending) throw new ConflictError('Start enrolment first: POST /api/v1/auth/admin/mfa/enrol', undefined, ErrorCode.MFA_NOT_ENROLLING);
    const step = await acceptedTotpStep(pending, code, null);
    if (step === undefined) throw WRONG_CODE('body.code');
    return { recoveryCodes: await turnOnMfa(tx, adminId, step) };
  });
}

/** Ten new recovery codes for a current TOTP code; the old ones stop working. */
export async function renewRecoveryCodes(authDeps: AuthDeps, adminId: string, code: string): Promise<{ recoveryCodes: string[] }> {
  return withTransaction(authDeps.master, async (tx) => {
    const { mfa } = await lockedAdmin(tx, adminId);
    if (!mfa.secretSealed) throw NOT_ENABLED();
    const step = await enrolledStep(authDeps, mfa, code);
    if (step === undefined) throw WRONG_CODE('body.code');
    await recordMfaStep(tx, adminId, step);
    const recoveryCodes = await issueRecoveryCodes(tx, adminId);
    await recordAudit(tx, { actorType: 'admin', actorId: adminId, action: 'admin.mfa_recovery_codes_renewed', targetType: 'admin', targetId: adminId });
    return { recoveryCodes };
  });
}

/** Turns the admin's own MFA off, given their password and a current code; refused while the platform requires MFA. */
export async function disableOwnMfa(authDeps: AuthDeps, adminId: string, input: { password: string; code: string }): Promise<void> {
  if ((await authDeps.platformConfig.current()).settings.mfaRequired)
    throw new ConflictError('This platform requires a second factor for every admin', undefined, ErrorCode.MFA_REQUIRED_BY_PLATFORM);
  const account = await findAccountById(authDeps.master, 'admin', adminId);
  if (!account || !(await authDeps.passwords.verify(input.password, account.passwordHash)))
    throw new ValidationError('The password is incorrect', [{ path: 'body.password', message: 'is incorrect' }]);
  await withTransaction(authDeps.master, async (tx) => {
    const { mfa } = await lockedAdmin(tx, adminId);
    if (!mfa.secretSealed) throw NOT_ENABLED();
    if ((await enrolledStep(authDeps, mfa, input.code)) === undefined) throw WRONG_CODE('body.code');
    await clearAdminSecondFactor(tx, adminId);
    await recordAudit(tx, { actorType: 'admin', actorId: adminId, action: 'admin.mfa_disabled', targetType: 'admin', targetId: adminId });
  });
}
