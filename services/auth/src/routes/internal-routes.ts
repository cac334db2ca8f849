import { ApiRouter, permissionsOf, PLATFORM_PERMISSIONS, requireServiceToken, TENANT_PERMISSIONS, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';

const PermissionCheck = z.strictObject({
  permission: z.enum([...PLATFORM_PERMISSIONS, ...TENANT_PERMISSIONS]),
  roles: z.array(z.string().max(40)).max(20),
  kind: z.enum(['admin', 'user']),
});

/** `/internal/...`: for other services, with a service JWT. */
export function internalRoutes(deps: ServiceDeps, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/internal');
  api.router.use(requireServiceToken('auth', deps.config.serviceJwtSecret));
  api.post(
    '/permissions/check',
    { summary: 'Whether roles grant a permission', tags: ['internal'], body: PermissionCheck, responses: { 200: { description: '{ allowed }' } }, security: 'service' },
    (req, res) => {
      const identity = req.body.kind === 'admin' ? { adminId: 'check', roles: req.body.roles } : { userId: 'check', tenantId: 'check', roles: req.body.roles };
      res.json({ allowed: permissionsOf(identity).has(req.body.permission) });
    },
  );
  return api.router;
}
