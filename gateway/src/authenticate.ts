import { ErrorCode, currentContext, ForbiddenError, type Identity } from '@codex/shared';
import type { RequestHandler } from 'express';
import type { ApiKeyResolver } from './api-key-resolver';
import type { KeyUsageReporter } from './key-usage';
import { routeFor } from './route-access';
import type { UserTokenVerifier } from './user-token-verifier';

declare module 'express-serve-static-core' {
  interface Locals {
    /** The API key the request came with, once resolved (for per-key limits). */
    apiKeyId?: string;
    /** The route template the request matched (metrics label). */
    routeTemplate?: string;
    /** The tenant's requests per minute per key from its plan, once known (for the per-key limit). */
    planRequestsPerMinute?: number | null;
  }
}

/** Routes a suspended (or over-quota) tenant still reaches, so its app can explain why. */
export const ANSWERS_SUSPENDED = new Set(['GET /api/v1/subscription/entitlements', 'HEAD /api/v1/subscription/entitlements']);

/**
 * Establishes who is calling, from nothing but the API key and the access
 * token: the tenant from the key, the user or admin from a verified token;
 * a user token of another tenant than the key's is 403 TENANT_MISMATCH.
 * Incoming identity headers are never read.
 */
export function authenticate(keys: ApiKeyResolver, tokens: UserTokenVerifier, keyUsage: KeyUsageReporter): RequestHandler {
  return async (req, res, next) => {
    const { access, template } = routeFor(req.method, req.originalUrl.split('?')[0] ?? '');
    res.locals.routeTemplate = template;
    const identity: Identity = { caller: 'gateway', roles: [] };
    if (access === 'apiKey' || access === 'user') {
      // A suspended tenant's app may still learn why it is refused.
      const key = await keys.resolve(req.get('x-api-key'), { allowSuspended: ANSWERS_SUSPENDED.has(`${req.method} ${template}`) });
      identity.tenantId = key.tenantId;
      res.locals.apiKeyId = key.keyId;
      keyUsage.used(key.keyId);
      if (access === 'user') {
        const token = await tokens.verify(req.get('authorization'), 'tenant');
        if (token.tenantId !== key.tenantId) throw new ForbiddenError('The token belongs to another tenant than the API key', ErrorCode.TENANT_MISMATCH);
        identity.userId = token.subject;
        identity.roles = token.roles;
      }
    } else if (access === 'admin') {
      const token = await tokens.verify(req.get('authorization'), 'admin');
      identity.adminId = token.subject;
      identity.roles = token.roles;
    }
    req.identity = identity;
    const context = currentContext();
    if (context) {
      context.tenantId = identity.tenantId;
      context.userId = identity.userId ?? identity.adminId;
    }
    next();
  };
}
