import {
  AppError,
  assertWithinLimit,
  ErrorCode,
  ForbiddenError,
  hashOpaqueToken,
  withTransaction,
  NotFoundError,
  permissionsOf,
  recordAudit,
  UnauthorizedError,
  type AuditWriter,
  ValidationError,
  type Entitlements,
  type Logger,
  type PlatformConfig,
  type Pool,
  type PoolClient,
  type SecretBox,
  type TenantPoolCache,
  uniqueConflict,
} from '@codex/shared';
import {
  findAccountByEmail,
  findAccountById,
  insertUser,
  publicAccount,
  consumeAdminPasswordToken,
  recordLogin,
  updatePasswordHash,
  type Account,
  type AccountKind,
} from '../db/accounts-repo';
import { revokeAllRefreshTokensOf } from '../db/refresh-tokens-repo';
import { findSignupMode } from '../db/tenant-settings-repo';
import type { KeyRing } from './key-ring';
import type { PasswordHasher } from './passwords';
import { demandSecondFactor } from './admin-mfa';
import { endSession, REUSED_REFRESH, type ReuseGrace, rotateSession, type SessionLengths, startSession, type Session, type Subject } from './sessions';

/** An account's email is unique in its realm (tenant users, platform admins): a clash is 409 EMAIL_TAKEN. */
export const emailTaken = (err: unknown) => uniqueConflict(err, 'account', ErrorCode.EMAIL_TAKEN, { users_email_key: 'email', admins_email_key: 'email' });

/** What sign-in and account changes need beyond a realm: signing keys, the password hasher, the master database. */
export interface AuthDeps {
  keys: KeyRing;
  passwords: PasswordHasher;
  /** Master database (admins, tenant settings). */
  master: Pool;
  /** How a refresh token presented twice at once is treated. */
  reuseGrace: ReuseGrace;
  logger: Logger;
  /** The live platform configuration: password policy, session lengths and "MFA required", in force at once. */
  platformConfig: Pick<PlatformConfig, 'current'>;
  /** Seals what must never sit in the database in the clear (TOTP secrets). */
  secrets: SecretBox;
  /** Stand-alone audit entries (failed sign-ins): never fail the answer. */
  audit: Pick<AuditWriter, 'append'>;
}

/** The platform's session-length settings for a realm, read now (a change applies to the next sign-in or refresh). */
export async function sessionLengths(authDeps: AuthDeps, kind: AccountKind): Promise<SessionLengths> {
  const { sessions } = (await authDeps.platformConfig.current()).settings;
  return {
    accessSeconds: sessions.accessTokenMinutes * 60,
    refreshSeconds: kind === 'admin' ? sessions.adminRefreshHours * 3_600 : sessions.userRefreshDays * 86_400,
  };
}

/** 400 naming `field` when the password is shorter than the platform's password policy asks (the schema already caps it at 72 bytes). */
export async function assertPasswordPolicy(authDeps: AuthDeps, password: string, field = 'body.password'): Promise<void> {
  const { minLength } = (await authDeps.platformConfig.current()).settings.passwordPolicy;
  if (password.length < minLength) {
    throw new ValidationError('The password is too short for this platform', [{ path: field, message: `must be at least ${minLength} characters` }]);
  }
}

/** Where accounts live: a tenant's database for its users, the master database for admins. */
export interface Realm {
  kind: AccountKind;
  tenantId?: string;
  withConnection<T>(fn: (db: PoolClient) => Promise<T>): Promise<T>;
  /** `fn` in one transaction of the realm's database. */
  transaction<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T>;
  /** In the transaction that adds an account: 403 PLAN_LIMIT_REACHED when the tenant's plan has no room for it. */
  assertRoomForAccount(tx: PoolClient): Promise<void>;
}

export function tenantRealm(tenants: TenantPoolCache, entitlements: Entitlements, tenantId: string): Realm {
  return {
    kind: 'user',
    tenantId,
    withConnection: (fn) => tenants.withConnection(tenantId, fn),
    transaction: (fn) => tenants.transaction(tenantId, fn),
    assertRoomForAccount: (tx) => assertWithinLimit(tx, entitlements, tenantId, 'users'),
  };
}

export function adminRealm(master: Pool): Realm {
  return {
    kind: 'admin',
    transaction: (fn) => withTransaction(master, fn),
    // Platform admins are not on a plan.
    assertRoomForAccount: async () => undefined,
    withConnection: async (fn) => {
      const client = await master.connect();
      try {
        return await fn(client);
      } finally {
        client.release();
      }
    },
  };
}

const INVALID_CREDENTIALS = () => new UnauthorizedError('Email or password is incorrect', ErrorCode.INVALID_CREDENTIALS);

function subjectOf(realm: Realm, account: Account): Subject {
  return { id: account.id, roles: [account.role], tenantId: realm.tenantId };
}

export interface SignedIn extends Session {
  user: ReturnType<typeof publicAccount>;
}

/** Tenant sign-up: open unless the tenant chose invite-only; the tenant's first user is its owner. */
export async function register(authDeps: AuthDeps, realm: Realm, input: { email: string; name: string; password: string }): Promise<SignedIn> {
  const mode = await findSignupMode(authDeps.master, realm.tenantId!);
  if (!mode) throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
  if (mode === 'invite') throw new ForbiddenError('This application accepts invited users only', ErrorCode.SIGNUP_CLOSED);
  await assertPasswordPolicy(authDeps, input.password);
  const passwordHash = await authDeps.passwords.hash(input.password);
  const lengths = await sessionLengths(authDeps, realm.kind);
  return realm.transaction(async (tx) => {
    await realm.assertRoomForAccount(tx);
    const account = await insertUser(tx, { email: input.email, name: input.name, passwordHash }).catch((err: unknown) => {
      throw emailTaken(err);
    });
    return { user: publicAccount(account), ...(await startSession(authDeps.keys, tx, subjectOf(realm, account), lengths)) };
  });
}

/**
 * Same 401 for an unknown email, a wrong password and a disabled or
 * not-yet-activated account, after the same bcrypt work. No database
 * connection is held while the password is checked: hashing takes long, and a
 * tenant's pool must stay free for its other requests.
 */
export async function login(authDeps: AuthDeps, realm: Realm, input: { email: string; password: string }): Promise<SignedIn> {
  const account = await realm.withConnection((db) => findAccountByEmail(db, realm.kind, input.email));
  const passwordOk = await authDeps.passwords.verify(input.password, account?.passwordHash);
  if (!account || !passwordOk || account.status !== 'active') {
    if (realm.kind === 'admin') {
      // A failed sign-in changes nothing else, so its audit entry stands alone; failing to write it must not turn the 401 into a 500.
      const reason = !account ? 'unknown email' : !passwordOk ? 'wrong password' : `account ${account.status}`;
      await authDeps.audit.append({
        actorType: 'admin',
        actorId: account?.id,
        action: 'admin.login_failed',
        targetType: 'admin',
        targetId: account?.id,
        details: { email: input.email, reason },
      });
    }
    throw INVALID_CREDENTIALS();
  }
  // An admin with a second factor (or on a platform that requires one) gets a challenge, not a session.
  if (realm.kind === 'admin') await demandSecondFactor(authDeps, account.id);
  return realm.transaction((tx) => signIn(authDeps, realm, tx, account));
}

/** The end of a successful sign-in, in the caller's transaction: last login, the audit entry, a new session. */
export async function signIn(authDeps: AuthDeps, realm: Realm, tx: PoolClient, account: Account, secondFactor?: string): Promise<SignedIn> {
  const lengths = await sessionLengths(authDeps, realm.kind);
  await recordLogin(tx, realm.kind, account.id);
  if (realm.kind === 'admin')
    await recordAudit(tx, {
      actorType: 'admin',
      actorId: account.id,
      action: 'admin.login',
      targetType: 'admin',
      targetId: account.id,
      ...(secondFactor ? { details: { secondFactor } } : {}),
    });
  return { user: publicAccount(account), ...(await startSession(authDeps.keys, tx, subjectOf(realm, account), lengths)) };
}

export async function refresh(authDeps: AuthDeps, realm: Realm, refreshToken: string): Promise<Session> {
  const lengths = await sessionLengths(authDeps, realm.kind);
  const result = await realm.transaction((tx) =>
    rotateSession(
      authDeps.keys,
      tx,
      realm.kind,
      refreshToken,
      async (ownerId) => {
        const account = await findAccountById(tx, realm.kind, ownerId);
        return account?.status === 'active' ? subjectOf(realm, account) : undefined;
      },
      authDeps.reuseGrace,
      lengths,
    ),
  );
  if ('reused' in result) throw REUSED_REFRESH();
  return result;
}

export async function logout(realm: Realm, refreshToken: string): Promise<void> {
  await realm.transaction((tx) => endSession(tx, realm.kind, refreshToken));
}

/** The caller's own account, roles and permissions. */
export async function me(realm: Realm, accountId: string) {
  const account = await realm.withConnection((db) => findAccountById(db, realm.kind, accountId));
  if (account?.status !== 'active') throw new UnauthorizedError('Account is not active', ErrorCode.ACCOUNT_INACTIVE);
  const identity =
    realm.kind === 'admin' ? { adminId: account.id, roles: [account.role] } : { userId: account.id, tenantId: realm.tenantId, roles: [account.role] };
  return { ...publicAccount(account), roles: [account.role], permissions: [...permissionsOf(identity)].sort() };
}

/** Changes the password after checking the current one; every session of the account ends. */
export async function changePassword(
  authDeps: AuthDeps,
  realm: Realm,
  accountId: string,
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  const account = await realm.withConnection((db) => findAccountById(db, realm.kind, accountId));
  if (!account || !(await authDeps.passwords.verify(input.currentPassword, account.passwordHash))) {
    throw new UnauthorizedError('Current password is incorrect', ErrorCode.INVALID_CREDENTIALS);
  }
  await assertPasswordPolicy(authDeps, input.newPassword, 'body.newPassword');
  const passwordHash = await authDeps.passwords.hash(input.newPassword);
  await realm.transaction(async (tx) => {
    await updatePasswordHash(tx, realm.kind, accountId, passwordHash);
    await revokeAllRefreshTokensOf(tx, realm.kind, accountId);
  });
}

/**
 * An admin made by another, or whose password was reset, sets a password with the one-time token they
 * were given (the admin service issues it, keeping only its SHA-256). A used, expired or unknown token
 * is 400 PASSWORD_TOKEN_INVALID.
 */
export async function setAdminPassword(authDeps: AuthDeps, input: { token: string; password: string }): Promise<void> {
  await assertPasswordPolicy(authDeps, input.password);
  const passwordHash = await authDeps.passwords.hash(input.password);
  await withTransaction(authDeps.master, async (tx) => {
    const adminId = await consumeAdminPasswordToken(tx, hashOpaqueToken(input.token));
    if (!adminId)
      throw new AppError(ErrorCode.PASSWORD_TOKEN_INVALID, 400, 'The token is unknown, used or expired; ask a super admin for a new one', [
        { path: 'body.token', message: 'is unknown, used or expired' },
      ]);
    await updatePasswordHash(tx, 'admin', adminId, passwordHash);
    await recordAudit(tx, { actorType: 'admin', actorId: adminId, action: 'admin.password_set', targetType: 'admin', targetId: adminId });
  });
}
