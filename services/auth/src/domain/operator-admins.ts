import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { type ADMIN_ROLES, ErrorCode, NotFoundError, type Pool, withTransaction } from '@codex/shared';
import { findAccountByEmail, insertAdmin, listAdminAccounts, publicAccount, updatePasswordHash } from '../db/accounts-repo';
import { revokeAllRefreshTokensOf } from '../db/refresh-tokens-repo';
import { emailTaken } from './accounts';

/** A password made for an operator to pass on: 20 random characters, shown once. */
export const oneTimePassword = () => randomBytes(15).toString('base64url');

/**
 * What an operator with shell access may do to platform admins when nobody
 * can sign in (`npm run admin`): list them, create one, reset a password. A
 * reset ends the admin's sessions.
 */
export const operatorAdmins = (db: Pool, bcryptCost: number) => ({
  async list() {
    return (await listAdminAccounts(db)).map(publicAccount);
  },
  async create(input: { email: string; role: (typeof ADMIN_ROLES)[number]; password: string }) {
    const passwordHash = await bcrypt.hash(input.password, bcryptCost);
    return publicAccount(
      await insertAdmin(db, { email: input.email, name: '', role: input.role, passwordHash }).catch((err: unknown) => Promise.reject(emailTaken(err))),
    );
  },
  async resetPassword(email: string, password: string) {
    const passwordHash = await bcrypt.hash(password, bcryptCost);
    return withTransaction(db, async (tx) => {
      const admin = await findAccountByEmail(tx, 'admin', email);
      if (!admin) throw new NotFoundError(`No admin with email ${JSON.stringify(email)}`, ErrorCode.USER_NOT_FOUND);
      await updatePasswordHash(tx, 'admin', admin.id, passwordHash);
      await revokeAllRefreshTokensOf(tx, 'admin', admin.id);
      return publicAccount(admin);
    });
  },
});
