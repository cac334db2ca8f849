import { createHash, randomBytes } from 'node:crypto';

/**
 * What is stored of a random opaque token (refresh tokens, invitations, admin password tokens): its
 * SHA-256. The tokens carry 256 random bits, so a fast hash is enough, and lookups stay one index probe.
 */
export const hashOpaqueToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The one-time token that sets an admin's password: issued by the admin service, spent at the auth service. */
export const newAdminPasswordToken = (): string => `apt_${randomBytes(32).toString('base64url')}`;
export const ADMIN_PASSWORD_TOKEN = /^apt_[A-Za-z0-9_-]{43}$/;
