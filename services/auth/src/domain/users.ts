import { randomBytes } from 'node:crypto';
import { ErrorCode, ConflictError, hashOpaqueToken, ForbiddenError, NotFoundError, UnauthorizedError, type PoolClient, type TenantRole } from '@codex/shared';
import { findAccountById, publicAccount, type Account } from '../db/accounts-repo';
import { revokeAllRefreshTokensOf } from '../db/refresh-tokens-repo';
import {
  acceptInvitation,
  activateWithPassword,
  countOtherActiveOwners,
  deleteUser,
  insertInvitation,
  insertInvitedUser,
  listUsers,
  updateUser,
  type UserFilter,
} from '../db/users-repo';
import { assertPasswordPolicy, emailTaken, sessionLengths, type AuthDeps, type Realm, type SignedIn } from './accounts';
import { startSession } from './sessions';

const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Who is acting: their id and tenant role. Only owners may make or touch owners. */
export interface ManagingUser {
  userId: string;
  role: string;
}

function assertMayManage(actor: ManagingUser, target: Account | undefined, newRole?: TenantRole): Account {
  if (!target) throw new NotFoundError('User not found', ErrorCode.USER_NOT_FOUND);
  if (actor.role !== 'owner' && (target.role === 'owner' || newRole === 'owner')) {
    throw new ForbiddenError('Only an owner can change owners', ErrorCode.OWNER_REQUIRED);
  }
  return target;
}

async function assertNotLastOwner(tx: PoolClient, target: Account): Promise<void> {
  if (target.role === 'owner' && target.status === 'active' && (await countOtherActiveOwners(tx, target.id)) === 0) {
    throw new ConflictError('A tenant keeps at least one active owner', undefined, ErrorCode.LAST_OWNER);
  }
}

export async function listTenantUsers(realm: Realm, filter: UserFilter) {
  const page = await realm.withConnection((db) => listUsers(db, filter));
  return { items: page.items.map(publicAccount), total: page.total, limit: filter.limit, offset: filter.offset };
}

export async function getTenantUser(realm: Realm, id: string) {
  const account = await realm.withConnection((db) => findAccountById(db, 'user', id));
  if (!account) throw new NotFoundError('User not found', ErrorCode.USER_NOT_FOUND);
  return publicAccount(account);
}

/** Creates an invited user and a one-time token (returned once) to set a password with. */
export async function inviteUser(realm: Realm, actor: ManagingUser, input: { email: string; name: string; role: TenantRole }) {
  if (actor.role !== 'owner' && input.role === 'owner') throw new ForbiddenError('Only an owner can invite owners', ErrorCode.OWNER_REQUIRED);
  const invitationToken = `inv_${randomBytes(32).toString('base64url')}`;
  const user = await realm.transaction(async (tx) => {
    await realm.assertRoomForAccount(tx);
    const invited = await insertInvitedUser(tx, input).catch((err: unknown) => {
      throw emailTaken(err);
    });
    await insertInvitation(tx, { userId: invited.id, tokenHash: hashOpaqueToken(invitationToken), expiresAt: new Date(Date.now() + INVITATION_TTL_MS) });
    return invited;
  });
  return { user: publicAccount(user), invitationToken, expiresInSeconds: INVITATION_TTL_MS / 1000 };
}

/** The invited person sets a password and is signed in. */
export async function acceptUserInvitation(authDeps: AuthDeps, realm: Realm, input: { token: string; password: string }): Promise<SignedIn> {
  await assertPasswordPolicy(authDeps, input.password);
  const passwordHash = await authDeps.passwords.hash(input.password);
  const lengths = await sessionLengths(authDeps, realm.kind);
  return realm.transaction(async (tx) => {
    const userId = await acceptInvitation(tx, hashOpaqueToken(input.token));
    const user = userId ? await activateWithPassword(tx, userId, passwordHash) : undefined;
    if (!user) throw new UnauthorizedError('Invitation is invalid, used or expired', ErrorCode.INVALID_INVITATION);
    return { user: publicAccount(user), ...(await startSession(authDeps.keys, tx, { id: user.id, roles: [user.role], tenantId: realm.tenantId }, lengths)) };
  });
}

/** Renames, changes the role of, disables or re-enables a user; disabling ends their sessions. */
export async function changeUser(realm: Realm, actor: ManagingUser, id: string, changes: { name?: string; role?: TenantRole; status?: 'active' | 'disabled' }) {
  return realm.transaction(async (tx) => {
    const target = assertMayManage(actor, await findAccountById(tx, 'user', id), changes.role);
    const demoted = changes.role !== undefined && changes.role !== 'owner';
    if (demoted || changes.status === 'disabled') await assertNotLastOwner(tx, target);
    if (changes.status === 'active' && target.status === 'invited') {
      throw new ConflictError('An invited user becomes active by accepting the invitation', undefined, ErrorCode.USER_INVITED);
    }
    const updated = (await updateUser(tx, id, changes))!;
    if (changes.status === 'disabled' || (changes.role && changes.role !== target.role)) await revokeAllRefreshTokensOf(tx, 'user', id);
    return publicAccount(updated);
  });
}

export async function removeUser(realm: Realm, actor: ManagingUser, id: string): Promise<void> {
  await realm.transaction(async (tx) => {
    const target = assertMayManage(actor, await findAccountById(tx, 'user', id));
    await assertNotLastOwner(tx, target);
    await deleteUser(tx, id);
  });
}
