import { ErrorCode, ForbiddenError, ACCESS_TOKEN_ALGORITHM, looksLikeJwt, TOKEN_AUDIENCE, TOKEN_ISSUER, UnauthorizedError } from '@codex/shared';
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface VerifiedToken {
  subject: string;
  tenantId?: string;
  roles: string[];
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
}

export type TokenAudience = keyof typeof TOKEN_AUDIENCE;

/** No access token lives longer than this (they are issued for 15 minutes); ended sessions are remembered as long. */
const ACCESS_TOKEN_MAX_SECONDS = 3_600;

const INVALID_TOKEN = () => new UnauthorizedError('Access token is missing, invalid or expired', ErrorCode.INVALID_TOKEN);
/** A valid token of the other kind: the caller is known, just not allowed here. */
const WRONG_KIND = (wanted: TokenAudience) =>
  new ForbiddenError(
    wanted === 'admin' ? 'This route is for platform admins; a tenant user token is not enough' : 'This route is for tenant users (API key and user token)',
  );

/** Verified tokens remembered (by their exact text) until they expire; bounded, oldest dropped first. */
const MAX_CACHED_TOKENS = 20_000;

interface CachedToken {
  token: VerifiedToken;
  audience: TokenAudience;
  /** Epoch seconds. */
  expiresAt: number;
}

/**
 * The auth service's JWKS as this gateway knows it. Kept without expiry (so
 * verification goes on while the auth service is down) and fetched again
 * only for a `kid` it does not know: at most one fetch at a time, at most one
 * per `minRefetchMs`. A request with an unknown `kid` that arrives while a
 * fetch is on cooldown waits for the next one instead of failing, so a key
 * the auth service has published is never refused, whatever garbage came
 * before it, and garbage can make the gateway fetch at most once a second.
 */
class KeySet {
  private local?: { kids: Set<string>; getKey: JWTVerifyGetKey; jwks: JSONWebKeySet };
  private lastFetchAt = 0;
  private pending?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly minRefetchMs: number,
    private readonly timeoutMs: number,
  ) {}

  has(kid: string): boolean {
    return this.local?.kids.has(kid) ?? false;
  }

  /** jose's key lookup over the known keys. */
  readonly getKey: JWTVerifyGetKey = (header, token) => {
    if (!this.local) throw new errors.JWKSNoMatchingKey();
    return this.local.getKey(header, token);
  };

  jwks(): JSONWebKeySet | undefined {
    return this.local?.jwks;
  }

  /** Fetches the key set again (shared by concurrent callers, spaced by minRefetchMs); a failed fetch keeps the old set. */
  refresh(): Promise<void> {
    this.pending ??= (async () => {
      const wait = this.lastFetchAt + this.minRefetchMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        const response = await fetch(this.url, { signal: AbortSignal.timeout(this.timeoutMs) });
        if (!response.ok) return;
        const jwks = (await response.json()) as JSONWebKeySet;
        if (!Array.isArray(jwks?.keys)) return;
        this.local = { jwks, getKey: createLocalJWKSet(jwks), kids: new Set(jwks.keys.map((key) => key.kid).filter((kid): kid is string => Boolean(kid))) };
      } catch {
        // The auth service is unreachable: keep verifying with the keys we have.
      } finally {
        this.lastFetchAt = Date.now();
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}

/**
 * Verifies user and admin access tokens against the auth service's JWKS:
 * algorithm pinned to ES256, issuer, audience, exp and nbf checked. A
 * verified token is remembered until its exp, so repeat requests skip the
 * signature check.
 */
export class UserTokenVerifier {
  private readonly keys: KeySet;
  // A client sends the same access token with every request for up to 15 minutes; verifying
  // its ES256 signature once instead of per request is the largest CPU saving in the pipeline.
  private readonly verified = new Map<string, CachedToken>();
  /** Subjects whose sessions were ended (an admin disabled, or its password reset), with when, in seconds. */
  private readonly ended = new Map<string, number>();

  constructor(authBaseUrl: string, options: { minRefetchMs?: number; timeoutMs?: number } = {}) {
    this.keys = new KeySet(new URL('/.well-known/jwks.json', authBaseUrl).toString(), options.minRefetchMs ?? 1_000, options.timeoutMs ?? 2_000);
  }

  async verify(authorization: string | undefined, audience: TokenAudience): Promise<VerifiedToken> {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    if (!token || !looksLikeJwt(token)) throw INVALID_TOKEN();
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt <= Date.now() / 1000) {
        this.verified.delete(token);
        throw INVALID_TOKEN();
      }
      if (cached.audience !== audience) throw WRONG_KIND(audience);
      return this.unlessEnded(cached.token);
    }
    const verified = await this.verifySignature(token, audience);
    if (this.verified.size >= MAX_CACHED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { token: verified.token, audience, expiresAt: verified.expiresAt });
    return this.unlessEnded(verified.token);
  }

  /**
   * Refuses from now on every token of `subject` issued up to `at`, though it has not expired: what makes
   * disabling an admin end its sessions at once rather than at the token's exp. `iat` counts whole
   * seconds, so a token issued in the same second as the end, even just after it, is refused too.
   */
  endSessions(subject: string, at: Date): void {
    const now = Date.now() / 1000;
    for (const [ended, when] of this.ended) if (when < now - ACCESS_TOKEN_MAX_SECONDS) this.ended.delete(ended);
    this.ended.set(subject, Math.max(this.ended.get(subject) ?? 0, Math.floor(at.getTime() / 1000)));
  }

  private unlessEnded(token: VerifiedToken): VerifiedToken {
    if (this.ended.size === 0) return token;
    const endedAt = this.ended.get(token.subject);
    if (endedAt !== undefined && token.issuedAt <= endedAt) throw new UnauthorizedError('This session was ended; sign in again', ErrorCode.INVALID_TOKEN);
    return token;
  }

  private async verifySignature(token: string, audience: TokenAudience): Promise<{ token: VerifiedToken; expiresAt: number }> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw INVALID_TOKEN();
    }
    // Refuse before any key lookup (and so before any fetch): only our algorithm, only with a key id.
    if (header.alg !== ACCESS_TOKEN_ALGORITHM || typeof header.kid !== 'string' || header.kid.length > 100) throw INVALID_TOKEN();
    if (!this.keys.has(header.kid)) {
      await this.keys.refresh();
      if (!this.keys.has(header.kid)) throw INVALID_TOKEN();
    }
    try {
      const { payload } = await jwtVerify(token, this.keys.getKey, {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE[audience],
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: 5,
      });
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
      const tenantId = typeof payload.tid === 'string' ? payload.tid : undefined;
      if (audience === 'tenant' && !tenantId) throw INVALID_TOKEN();
      if (audience === 'admin' && tenantId) throw INVALID_TOKEN();
      return { token: { subject: payload.sub!, tenantId, roles, issuedAt: payload.iat! }, expiresAt: payload.exp! };
    } catch (err) {
      // jose checks claims only after the signature: a wrong audience here is a genuine token of the other kind.
      // Only a well-formed one: a tenant token names its tenant, an admin token none.
      const other = audience === 'admin' ? 'tenant' : 'admin';
      if (
        err instanceof errors.JWTClaimValidationFailed &&
        err.claim === 'aud' &&
        err.payload.aud === TOKEN_AUDIENCE[other] &&
        (other === 'tenant') === (typeof err.payload.tid === 'string')
      ) {
        throw WRONG_KIND(audience);
      }
      throw INVALID_TOKEN();
    }
  }

  /** The cached key set, fetched once if nothing is cached yet (served at the gateway's JWKS URL). */
  async jwks(): Promise<JSONWebKeySet> {
    if (!this.keys.jwks()) await this.keys.refresh();
    const jwks = this.keys.jwks();
    if (!jwks) throw new Error('the auth service has not published its keys');
    return jwks;
  }
}
