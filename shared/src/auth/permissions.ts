import type { RequestHandler } from 'express';
import { ErrorCode, ForbiddenError, UnauthorizedError } from '../errors';
import type { RouteAccess } from '../openapi';
import type { Identity } from '../service-token';

/** Roles of platform administrators (master DB `admins`). */
export const ADMIN_ROLES = ['super_admin', 'admin', 'support', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** Roles of a tenant's own users (tenant DB `users`). */
export const TENANT_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

/**
 * Every permission a route can require. Platform permissions belong to
 * admins; tenant permissions to a tenant's users. The two never mix.
 */
export const PLATFORM_PERMISSIONS = [
  'tenants:read',
  'tenants:write',
  'admins:read',
  'admins:manage',
  'plans:read',
  'plans:manage',
  'system:read',
  'system:manage',
  'audit:read',
  // The platform's own billing: usage of every tenant, metrics, invoices and payments.
  'revenue:read',
  'revenue:manage',
] as const;
export const TENANT_PERMISSIONS = [
  'users:read',
  'users:manage',
  'clients:read',
  'clients:write',
  'content:read',
  'content:write',
  'crm:read',
  'crm:write',
  'billing:read',
  'billing:manage',
  'subscriptions:read',
  'subscriptions:manage',
  // Bulk import and export of every record of an entity: for owners and admins.
  'data:transfer',
] as const;
export type Permission = (typeof PLATFORM_PERMISSIONS)[number] | (typeof TENANT_PERMISSIONS)[number];

/** What every signed-in user may read; the user directory is for owners and admins only. */
const READ_TENANT: Permission[] = TENANT_PERMISSIONS.filter((p) => p.endsWith(':read') && p !== 'users:read');

/** The one role → permission table. */
export const ROLE_PERMISSIONS: { admin: Record<AdminRole, readonly Permission[]>; tenant: Record<TenantRole, readonly Permission[]> } = {
  admin: {
    super_admin: PLATFORM_PERMISSIONS,
    admin: ['tenants:read', 'tenants:write', 'admins:read', 'plans:read', 'plans:manage', 'system:read', 'audit:read', 'revenue:read', 'revenue:manage'],
    support: ['tenants:read', 'admins:read', 'plans:read', 'system:read', 'audit:read', 'revenue:read'],
    viewer: ['tenants:read', 'plans:read', 'system:read', 'revenue:read'],
  },
  tenant: {
    owner: TENANT_PERMISSIONS,
    admin: TENANT_PERMISSIONS,
    member: [...READ_TENANT, 'clients:write', 'content:write', 'crm:write'],
    viewer: READ_TENANT,
  },
};

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/** What a verified identity may do: admin roles count only for admins, tenant roles only for tenant users. */
export function permissionsOf(identity: Pick<Identity, 'adminId' | 'userId' | 'tenantId' | 'roles'>): Set<Permission> {
  const granted = new Set<Permission>();
  if (identity.adminId) {
    for (const role of identity.roles) if (isOneOf(ADMIN_ROLES, role)) for (const p of ROLE_PERMISSIONS.admin[role]) granted.add(p);
  } else if (identity.userId && identity.tenantId) {
    for (const role of identity.roles) if (isOneOf(TENANT_ROLES, role)) for (const p of ROLE_PERMISSIONS.tenant[role]) granted.add(p);
  }
  return granted;
}

/**
 * Route guard: the verified identity (from requireServiceToken) must hold
 * `permission`. No signed-in user or admin → 401; one without it → 403.
 */
export function requirePermission(permission: Permission): RequestHandler {
  return (req, _res, next) => {
    if (!req.identity?.userId && !req.identity?.adminId) {
      next(new UnauthorizedError('A user or admin access token is required', ErrorCode.INVALID_TOKEN));
      return;
    }
    if (!permissionsOf(req.identity).has(permission)) {
      next(new ForbiddenError(`Requires permission ${permission}`));
      return;
    }
    next();
  };
}

/**
 * The guard every declared route runs before its input is validated: the
 * caller the route's access needs (401 otherwise), then its permission (403).
 */
export function requireAccess(access: RouteAccess, permission?: Permission): RequestHandler {
  return (req, _res, next) => {
    const identity = req.identity;
    if (access === 'user' && !(identity?.tenantId && identity.userId)) {
      next(new UnauthorizedError('A user access token is required', ErrorCode.INVALID_TOKEN));
    } else if (access === 'admin' && !identity?.adminId) {
      next(new UnauthorizedError('An admin access token is required', ErrorCode.INVALID_TOKEN));
    } else if (access === 'apiKey' && !identity?.tenantId) {
      next(new UnauthorizedError('A tenant API key is required', ErrorCode.INVALID_API_KEY));
    } else if (permission) {
      requirePermission(permission)(req, _res, next);
    } else {
      next();
    }
  };
}

/** The tenant a request acts for (from the verified service JWT); 401 when there is none. */
export function tenantOf(req: { identity?: Identity }): string {
  const tenantId = req.identity?.tenantId;
  if (!tenantId) throw new UnauthorizedError('A tenant API key is required', ErrorCode.INVALID_API_KEY);
  return tenantId;
}

/** The tenant user a request acts for (from the verified service JWT); 401 when there is none. */
export function tenantUserOf(req: { identity?: Identity }): { tenantId: string; userId: string; roles: string[] } {
  const tenantId = tenantOf(req);
  const userId = req.identity?.userId;
  if (!userId) throw new UnauthorizedError('A user access token is required', ErrorCode.INVALID_TOKEN);
  return { tenantId, userId, roles: req.identity!.roles };
}

/** The platform admin a request acts for; 401 when there is none. */
export function adminOf(req: { identity?: Identity }): string {
  const adminId = req.identity?.adminId;
  if (!adminId) throw new UnauthorizedError('An admin access token is required', ErrorCode.INVALID_TOKEN);
  return adminId;
}

/** Whether the identity may act on every record, not only on its own (tenant owners and admins). */
export function actsOnAllRecords(identity: Pick<Identity, 'roles'>): boolean {
  return identity.roles.some((role) => role === 'owner' || role === 'admin');
}
