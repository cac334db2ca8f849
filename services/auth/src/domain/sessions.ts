import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import {
  ErrorCode,
  ACCESS_TOKEN_ALGORITHM,
  hashOpaqueToken,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  UnauthorizedError,
  type AccessTokenClaims,
  type PoolClient,
  type Queryable,
  type SecretBox,
} from '@codex/shared';
import { z } from 'zod';
import {
  findLiveRefreshToken,
  findRefreshTokenForUpdate,
  insertRefreshToken,
  markRefreshTokenUsed,
  revokeRefreshFamily,
  type RefreshTokenKind,
} from '../db/refresh-tokens-repo';
import type { KeyRing } from './key-ring';

/** Refresh tokens are opaque random strings; only their SHA-256 is stored. */
export const RefreshToken = z.string().regex(/^rt_[A-Za-z0-9_-]{43}$/, 'is not a refresh token');

export interface Session {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
}

/** How long a session's tokens last: the platform's session-length settings for the subject's realm. */
export interface SessionLengths {
  accessSeconds: number;
  refreshSeconds: number;
}

export interface Subject {
  id: string;
  roles: string[];
  /** Set for tenant users, absent for admins. */
  tenantId?: string;
}

function kindOf(subject: Subject): RefreshTokenKind {
  return subject.tenantId ? 'user' : 'admin';
}

async function signAccessToken(keys: KeyRing, subject: Subject, lengths: SessionLengths): Promise<string> {
  const { kid, privateKey } = await keys.current();
  const claims: AccessTokenClaims = { roles: subject.roles, ...(subject.tenantId ? { tid: subject.tenantId } : {}) };
  return jwt.sign(claims, privateKey, {
    algorithm: ACCESS_TOKEN_ALGORITHM,
    keyid: kid,
    issuer: TOKEN_ISSUER,
    audience: subject.tenantId ? TOKEN_AUDIENCE.tenant : TOKEN_AUDIENCE.admin,
    subject: subject.id,
    expiresIn: lengths.accessSeconds,
    jwtid: randomUUID(),
  });
}

async function issue(keys: KeyRing, db: Queryable, subject: Subject, familyId: string, lengths: SessionLengths): Promise<Session & { refreshTokenId: string }> {
  const refreshToken = `rt_${randomBytes(32).toString('base64url')}`;
  const refreshTokenId = await insertRefreshToken(db, kindOf(subject), {
    ownerId: subject.id,
    familyId,
    hash: hashOpaqueToken(refreshToken),
    expiresAt: new Date(Date.now() + lengths.refreshSeconds * 1000),
  });
  return { tokenType: 'Bearer', accessToken: await signAccessToken(keys, subject, lengths), expiresIn: lengths.accessSeconds, refreshToken, refreshTokenId };
}

/** A new login: a new refresh-token family and an access token. */
export async function startSession(keys: KeyRing, db: Queryable, subject: Subject, lengths: SessionLengths): Promise<Session> {
  const { refreshTokenId: _id, ...session } = await issue(keys, db, subject, randomUUID(), lengths);
  return session;
}

/** How rotation treats a token presented again (two tabs refreshing at once). */
export interface ReuseGrace {
  /** Within this long after its use, the immediate parent answers with its live successor; 0 turns the grace off. */
  seconds: number;
  secrets: SecretBox;
}

const INVALID_REFRESH = () => new UnauthorizedError('Refresh token is invalid or expired', ErrorCode.INVALID_REFRESH_TOKEN);

/**
 * Exchanges a refresh token for a new pair (rotation). A token presented
 * again within the grace window, while the successor it was exchanged for is
 * still unused, answers with that same successor (and a fresh access token):
 * two tabs refreshing at once keep the session. Any other reuse (an older
 * token, after the window, or once the successor has moved on) means it was
 * stolen or replayed: the whole family is revoked (committed), and the
 * caller gets 401. Runs inside the caller's transaction on `tx`; the row lock
 * serialises concurrent exchanges of one token.
 */
export async function rotateSession(
  keys: KeyRing,
  tx: PoolClient,
  kind: RefreshTokenKind,
  refreshToken: string,
  loadSubject: (ownerId: string) => Promise<Subject | undefined>,
  grace: ReuseGrace,
  lengths: SessionLengths,
): Promise<Session | { reused: true }> {
  const stored = await findRefreshTokenForUpdate(tx, kind, hashOpaqueToken(refreshToken));
  if (!stored) throw INVALID_REFRESH();
  if (stored.usedAt || stored.revokedAt) {
    const withinGrace = stored.usedAt && !stored.revokedAt && Date.now() - stored.usedAt.getTime() <= grace.seconds * 1_000;
    if (withinGrace && stored.successorSealed && stored.replacedBy && (await findLiveRefreshToken(tx, kind, stored.replacedBy))) {
      const subject = await loadSubject(stored.ownerId);
      if (subject) {
        return {
          tokenType: 'Bearer',
          accessToken: await signAccessToken(keys, subject, lengths),
          expiresIn: lengths.accessSeconds,
          refreshToken: grace.secrets.open(stored.successorSealed),
        };
      }
    }
    await revokeRefreshFamily(tx, kind, stored.familyId);
    return { reused: true };
  }
  if (stored.expiresAt.getTime() <= Date.now()) throw INVALID_REFRESH();
  const subject = await loadSubject(stored.ownerId);
  if (!subject) {
    await revokeRefreshFamily(tx, kind, stored.familyId);
    return { reused: true };
  }
  const { refreshTokenId, ...successor } = await issue(keys, tx, subject, stored.familyId, lengths);
  await markRefreshTokenUsed(tx, kind, stored.id, { id: refreshTokenId, sealed: grace.secrets.seal(successor.refreshToken) });
  return successor;
}

/** Logout: the token's whole family stops working. Unknown tokens are ignored (no oracle). */
export async function endSession(tx: PoolClient, kind: RefreshTokenKind, refreshToken: string): Promise<void> {
  const stored = await findRefreshTokenForUpdate(tx, kind, hashOpaqueToken(refreshToken));
  if (stored) await revokeRefreshFamily(tx, kind, stored.familyId);
}

export const REUSED_REFRESH = () =>
  new UnauthorizedError('Refresh token was already used; every session of this login is revoked', ErrorCode.REFRESH_TOKEN_REUSED);
