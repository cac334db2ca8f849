import { ErrorCode, ForbiddenError, type Identity } from '@codex/shared';
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiKeyResolver } from './api-key-resolver';
import type { KeyUsageReporter } from './key-usage';
import type { Access } from './route-access';
import type { UserTokenVerifier } from './user-token-verifier';

/** Routes a suspended (or over-quota) tenant still reaches, so its app can explain why. */
export const ANSWERS_SUSPENDED = new Set(['GET /api/v1/subscription/entitlements', 'HEAD /api/v1/subscription/entitlements']);

/** Who is calling, as verified here, and with which API key. */
export interface Caller {
  identity: Identity;
  keyId?: string;
}

/**
 * Establishes who is calling, from nothing but the API key and the access
 * token: the tenant from the key, the user or admin from a verified token;
 * a user token of another tenant than the key's is 403 TENANT_MISMATCH.
 * Incoming identity headers are never read.
 */
export class Authenticator {
  constructor(
    private readonly keys: ApiKeyResolver,
    private readonly tokens: UserTokenVerifier,
    private readonly keyUsage: KeyUsageReporter,
  ) {}

  /** The caller of a request for a route with `access`, or the error that refuses it (401/403). */
  async identify(route: { access: Access; template: string }, method: string, headers: IncomingHttpHeaders): Promise<Caller> {
    const identity: Identity = { caller: 'gateway', roles: [] };
    if (route.access === 'apiKey' || route.access === 'user') {
      // A suspended tenant's app may still learn why it is refused.
      const key = await this.keys.resolve(single(headers['x-api-key']), { allowSuspended: ANSWERS_SUSPENDED.has(`${method} ${route.template}`) });
      identity.tenantId = key.tenantId;
      this.keyUsage.used(key.keyId);
      if (route.access === 'user') {
        const token = await this.tokens.verify(headers.authorization, 'tenant');
        if (token.tenantId !== key.tenantId) throw new ForbiddenError('The token belongs to another tenant than the API key', ErrorCode.TENANT_MISMATCH);
        identity.userId = token.subject;
        identity.roles = token.roles;
      }
      return { identity, keyId: key.keyId };
    }
    if (route.access === 'admin') {
      const token = await this.tokens.verify(headers.authorization, 'admin');
      identity.adminId = token.subject;
      identity.roles = token.roles;
    }
    return { identity };
  }
}

/** A header's value as one string (Node joins a repeated `X-API-Key` with ", ", which no key matches). */
const single = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' ? value : undefined);
