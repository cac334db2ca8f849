import { createSecretKey, type KeyObject } from 'node:crypto';
import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { ErrorCode, ForbiddenError, UnauthorizedError } from './errors';
import { currentContext } from './request-context';
import type { ServiceName } from './services';

/** Service tokens live this long; long enough for one call and its retries, short enough to be useless if leaked. */
export const SERVICE_TOKEN_TTL_SECONDS = 60;

const ALGORITHM = 'HS256';

/** Who a call acts for, as verified by the gateway (or the calling service). */
export interface Identity {
  /** The service that signed the token. */
  caller: ServiceName;
  tenantId?: string;
  userId?: string;
  adminId?: string;
  roles: string[];
}

interface ServiceClaims {
  tid?: string;
  uid?: string;
  aid?: string;
  roles?: string[];
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by requireServiceToken from a verified service JWT; the only source of identity. */
    identity?: Identity;
  }
}

/** The shared HMAC secret as a KeyObject, so jsonwebtoken does not re-import it per call. */
export function serviceKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

export interface ServiceTokenSigner {
  /** A token for one call from this service to `audience`, carrying `identity`. */
  sign(audience: ServiceName, identity?: Omit<Identity, 'caller'>): string;
}

/** A signed token is reused for the same audience and identity until this long before it expires. */
const REUSE_MARGIN_SECONDS = 20;
/** Tokens kept for reuse; past this the oldest is forgotten (it is only re-signed when needed again). */
const MAX_CACHED_TOKENS = 10_000;

/**
 * Signs service tokens, reusing one for the same audience and identity for
 * up to TTL − 20 s: signing (HMAC and JSON) per proxied request was a
 * measurable share of the gateway's CPU. A reused token is the same token
 * the call would have got, so nothing about what it allows changes; the
 * receiving service still checks its age on arrival.
 */
export function createServiceTokenSigner(caller: ServiceName, secret: string, clock: () => number = Date.now): ServiceTokenSigner {
  const key = serviceKey(secret);
  const cache = new Map<string, { token: string; reuseUntil: number }>();
  return {
    sign(audience, identity) {
      const claims: ServiceClaims = {
        tid: identity?.tenantId,
        uid: identity?.userId,
        aid: identity?.adminId,
        roles: identity?.roles ?? [],
      };
      const cacheKey = `${audience}\u0000${claims.tid ?? ''}\u0000${claims.uid ?? ''}\u0000${claims.aid ?? ''}\u0000${claims.roles!.join('\u0001')}`;
      const now = clock();
      const cached = cache.get(cacheKey);
      if (cached && cached.reuseUntil > now) return cached.token;
      const issuedAt = Math.floor(now / 1000);
      const token = jwt.sign({ ...claims, iat: issuedAt }, key, {
        algorithm: ALGORITHM,
        issuer: caller,
        audience,
        expiresIn: SERVICE_TOKEN_TTL_SECONDS,
      });
      cache.delete(cacheKey);
      if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
      cache.set(cacheKey, { token, reuseUntil: (issuedAt + SERVICE_TOKEN_TTL_SECONDS - REUSE_MARGIN_SECONDS) * 1000 });
      return token;
    },
  };
}

/** Verifies a service token meant for `audience`; throws UnauthorizedError on any defect. */
export function createServiceTokenVerifier(audience: ServiceName, secret: string): (token: string) => Identity {
  const key = serviceKey(secret);
  return (token) => {
    let payload: jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [ALGORITHM],
        audience,
        maxAge: `${SERVICE_TOKEN_TTL_SECONDS + 5}s`,
        complete: false,
      }) as jwt.JwtPayload;
    } catch {
      throw new UnauthorizedError('Invalid service token', ErrorCode.INVALID_SERVICE_TOKEN);
    }
    if (typeof payload.iss !== 'string' || typeof payload.exp !== 'number') {
      throw new UnauthorizedError('Invalid service token', ErrorCode.INVALID_SERVICE_TOKEN);
    }
    const claims = payload as jwt.JwtPayload & ServiceClaims;
    return {
      caller: payload.iss as ServiceName,
      tenantId: claims.tid,
      userId: claims.uid,
      adminId: claims.aid,
      roles: Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [],
    };
  };
}

/**
 * Express guard: requires `Authorization: Bearer <service JWT>` addressed to
 * this service; sets `req.identity`. Missing, expired or misaddressed → 401.
 */
export function requireServiceToken(audience: ServiceName, secret: string): RequestHandler {
  const verify = createServiceTokenVerifier(audience, secret);
  return (req, _res, next) => {
    const header = req.get('authorization');
    const match = header?.match(/^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/);
    if (!match?.[1]) {
      next(new UnauthorizedError('Service token required', ErrorCode.INVALID_SERVICE_TOKEN));
      return;
    }
    req.identity = verify(match[1]);
    const context = currentContext();
    if (context) {
      context.tenantId = req.identity.tenantId;
      context.userId = req.identity.userId ?? req.identity.adminId;
    }
    next();
  };
}

/**
 * Express guard for `/internal` routes, after `requireServiceToken`: only the
 * named peer services may call; a token from any other caller (the gateway
 * included) → 403, so a public request can never reach an internal route.
 */
export function requireCaller(...callers: ServiceName[]): RequestHandler {
  const allowed = new Set<ServiceName>(callers);
  return (req, _res, next) => {
    if (req.identity && allowed.has(req.identity.caller)) next();
    else next(new ForbiddenError(`Only ${callers.join(', ')} may call this route`, ErrorCode.CALLER_NOT_ALLOWED));
  };
}
