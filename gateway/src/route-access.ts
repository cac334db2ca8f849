/** What a request must present: nothing, a tenant API key, a key and a user token, or an admin token. */
export type Access = 'none' | 'apiKey' | 'user' | 'admin';

interface PublicRoute {
  method: string;
  path: string | RegExp;
  access: Exclude<Access, 'user' | 'admin'>;
}

/** Every route that needs less than a user (or admin) token, in one list; everything else needs one. */
export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  { method: 'POST', path: '/api/v1/auth/register', access: 'apiKey' },
  { method: 'POST', path: '/api/v1/auth/login', access: 'apiKey' },
  { method: 'POST', path: '/api/v1/auth/refresh', access: 'apiKey' },
  { method: 'POST', path: '/api/v1/auth/logout', access: 'apiKey' },
  { method: 'POST', path: '/api/v1/auth/invitations/accept', access: 'apiKey' },
  { method: 'POST', path: '/api/v1/auth/admin/login', access: 'none' },
  { method: 'POST', path: '/api/v1/auth/admin/refresh', access: 'none' },
  { method: 'POST', path: '/api/v1/auth/admin/logout', access: 'none' },
  { method: 'GET', path: /^\/api\/v1\/client\/public\/content\/[a-z][a-z0-9_-]{0,39}\/[a-z0-9][a-z0-9-]{0,199}$/, access: 'apiKey' },
  { method: 'GET', path: /^\/api\/v1\/[a-z]+\/health$/, access: 'none' },
];

const ADMIN_PREFIXES = ['/api/v1/admin/', '/api/v1/auth/admin/'];

/**
 * Classifies a request path. Anything not listed as public needs a token;
 * anything under the admin prefixes needs an admin token. Odd spellings
 * (trailing slashes, encodings) match nothing public and so fail closed.
 */
export function accessFor(method: string, path: string): Access {
  const open = PUBLIC_ROUTES.find(
    (route) => route.method === method && (typeof route.path === 'string' ? route.path === path : route.path.test(path)),
  );
  if (open) return open.access;
  if (ADMIN_PREFIXES.some((prefix) => path.startsWith(prefix) || path === prefix.slice(0, -1))) return 'admin';
  return 'user';
}
