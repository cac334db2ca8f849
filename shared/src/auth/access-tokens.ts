/** Who issues user and admin access tokens (the auth service) and who they are for. */
export const TOKEN_ISSUER = 'codex-metatron';

/** Tenant-user tokens and admin tokens have different audiences, so neither is ever accepted as the other. */
export const TOKEN_AUDIENCE = {
  tenant: 'codex-tenant-api',
  admin: 'codex-admin-api',
} as const;

export const ACCESS_TOKEN_ALGORITHM = 'ES256';
/** The longest an access token can be made to live (the `sessions.accessTokenMinutes` setting's ceiling): a retired signing key stays published this long. */
export const ACCESS_TOKEN_MAX_TTL_SECONDS = 60 * 60;

/** Claims of an access token beyond the registered ones (iss, aud, sub, exp, iat, jti). */
export interface AccessTokenClaims {
  /** Tenant id; present exactly on tenant-user tokens. */
  tid?: string;
  roles: string[];
}

/** Cheap shape check for a compact JWS, done before any parsing or key lookup. */
export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]{2,2048}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{2,1024}$/.test(value);
}
