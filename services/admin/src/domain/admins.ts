import {
  clearAdminSecondFactor,
  ConflictError,
  ErrorCode,
  hashOpaqueToken,
  newAdminPasswordToken,
  NotFoundError,
  recordAccessChange,
  recordAudit,
  uniqueConflict,
  withTransaction,
  type AdminRole,
  type AuditActor,
  type Pool,
  type PoolClient,
  type Queryable,
} from '@codex/shared';
import {
  deleteAdmin,
  findAdmin,
  insertAdmin,
  listAdmins,
  lockActiveSuperAdmins,
  replacePasswordToken,
  revokeAdminRefreshTokens,
  updateAdmin,
  type Admin,
  type AdminStatus,
} from '../db/admins-repo';

export type { Admin };

/** How long a one-time password token works. */
const PASSWORD_TOKEN_TTL_MS = 24 * 60 * 60_000;

const ADMIN_NOT_FOUND = () => new NotFoundError('Admin not found', ErrorCode.ADMIN_NOT_FOUND);
const LAST_SUPER_ADMIN = () => new ConflictError('The platform keeps at least one active super admin', undefined, ErrorCode.LAST_SUPER_ADMIN);

export interface PasswordToken {
  /** Shown once: the admin sets their password with it at `POST /api/v1/auth/admin/password`. */
  passwordToken: string;
  expiresAt: Date;
}

export const adminList = (db: Queryable) => listAdmins(db);

export async function adminById(db: Queryable, id: string): Promise<Admin> {
  const admin = await findAdmin(db, id);
  if (!admin) throw ADMIN_NOT_FOUND();
  return admin;
}

async function issuePasswordToken(tx: PoolClient, adminId: string, purpose: 'invite' | 'reset', actor: AuditActor): Promise<PasswordToken> {
  const passwordToken = newAdminPasswordToken();
  const expiresAt = new Date(Date.now() + PASSWORD_TOKEN_TTL_MS);
  await replacePasswordToken(tx, {
    hash: hashOpaqueToken(passwordToken),
    adminId,
    purpose,
    createdBy: actor.actorId ?? null,
    expiresAt,
  });
  return { passwordToken, expiresAt };
}

/** Ends every session of the admin: refresh tokens now, access tokens on every gateway within a poll. */
async function endSessions(tx: PoolClient, adminId: string): Promise<void> {
  await revokeAdminRefreshTokens(tx, adminId);
  await recordAccessChange(tx, { kind: 'admin_sessions_ended', adminId });
}

/** A new admin with no password yet, and the one-time token they set it with. */
export async function createAdmin(
  db: Pool,
  input: { email: string; name: string; role: AdminRole },
  actor: AuditActor,
): Promise<{ admin: Admin } & PasswordToken> {
  return withTransaction(db, async (tx) => {
    const admin = await insertAdmin(tx, input).catch((err: unknown) => {
      throw uniqueConflict(err, 'admin', ErrorCode.EMAIL_TAKEN, { admins_email_key: 'email' });
    });
    const token = await issuePasswordToken(tx, admin.id, 'invite', actor);
    await recordAudit(tx, {
      ...actor,
      action: 'admin.created',
      targetType: 'admin',
      targetId: admin.id,
      details: { after: { email: admin.email, role: admin.role } },
    });
    return { admin, ...token };
  });
}

/** Whether a change leaves the admin no longer an active super admin. */
const stopsBeingSuperAdmin = (admin: Admin, changes: { role?: AdminRole; status?: AdminStatus } | 'deleted') =>
  admin.role === 'super_admin' &&
  admin.status === 'active' &&
  (changes === 'deleted' || (changes.role !== undefined && changes.role !== 'super_admin') || changes.status === 'disabled');

/** Locks the admin for a change, 404 when unknown, 409 LAST_SUPER_ADMIN when the change would leave none. */
async function lockForChange(tx: PoolClient, id: string, changes: { role?: AdminRole; status?: AdminStatus } | 'deleted'): Promise<Admin> {
  const supers = await lockActiveSuperAdmins(tx);
  const admin = await findAdmin(tx, id, { forUpdate: true });
  if (!admin) throw ADMIN_NOT_FOUND();
  if (stopsBeingSuperAdmin(admin, changes) && supers.length <= 1) throw LAST_SUPER_ADMIN();
  return admin;
}

/**
 * Renames an admin, changes their role, disables or re-enables them. A new role or a disabled account
 * ends the admin's sessions at once: their tokens carry the old role.
 */
export async function changeAdmin(db: Pool, id: string, changes: { name?: string; role?: AdminRole; status?: AdminStatus }, actor: AuditActor): Promise<Admin> {
  return withTransaction(db, async (tx) => {
    const before = await lockForChange(tx, id, changes);
    const after = await updateAdmin(tx, id, changes);
    if (after.role !== before.role || (after.status === 'disabled' && before.status !== 'disabled')) await endSessions(tx, id);
    await recordAudit(tx, {
      ...actor,
      action: after.status !== before.status ? (after.status === 'disabled' ? 'admin.disabled' : 'admin.enabled') : 'admin.updated',
      targetType: 'admin',
      targetId: id,
      details: { before: { name: before.name, role: before.role, status: before.status }, after: { name: after.name, role: after.role, status: after.status } },
    });
    return after;
  });
}

/** Removes an admin; their sessions end with them. The audit log keeps their id. */
export async function removeAdmin(db: Pool, id: string, actor: AuditActor): Promise<void> {
  await withTransaction(db, async (tx) => {
    const admin = await lockForChange(tx, id, 'deleted');
    await recordAccessChange(tx, { kind: 'admin_sessions_ended', adminId: id });
    await deleteAdmin(tx, id);
    await recordAudit(tx, {
      ...actor,
      action: 'admin.deleted',
      targetType: 'admin',
      targetId: id,
      details: { before: { email: admin.email, role: admin.role } },
    });
  });
}

/** Forgets the admin's password, ends their sessions, and returns a one-time token to set a new one with. */
export async function resetAdminPassword(db: Pool, id: string, actor: AuditActor): Promise<PasswordToken> {
  return withTransaction(db, async (tx) => {
    const admin = await findAdmin(tx, id, { forUpdate: true });
    if (!admin) throw ADMIN_NOT_FOUND();
    const token = await issuePasswordToken(tx, id, 'reset', actor);
    await endSessions(tx, id);
    await recordAudit(tx, { ...actor, action: 'admin.password_reset', targetType: 'admin', targetId: id });
    return token;
  });
}

/** Removes an admin's second factor (a lost device) and ends their sessions; they enrol again at their next sign-in. */
export async function resetAdminMfa(db: Pool, id: string, actor: AuditActor): Promise<void> {
  await withTransaction(db, async (tx) => {
    const admin = await findAdmin(tx, id, { forUpdate: true });
    if (!admin) throw ADMIN_NOT_FOUND();
    await clearAdminSecondFactor(tx, id);
    await endSessions(tx, id);
    await recordAudit(tx, { ...actor, action: 'admin.mfa_reset', targetType: 'admin', targetId: id, details: { before: { mfaEnrolled: admin.mfaEnrolled } } });
  });
}
