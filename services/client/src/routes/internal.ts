import { ErrorCode, ApiRouter, NotFoundError, requireCaller, tenantOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { findClient } from '../db/clients-repo';

/** `/internal/...`: for other services (e.g. the CRM checking a clientId), with a service JWT naming the tenant. */
export function internalRoutes(deps: ServiceDeps, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/internal');
  api.router.use(requireCaller('crm'));
  api.get(
    '/clients/:id',
    { summary: 'Whether a live client exists in the calling tenant', tags: ['internal'], params: z.object({ id: z.uuid() }), responses: { 200: { description: '{ id, name }' } }, security: 'service' },
    async (req, res) => {
      const tenantId = tenantOf(req);
      const client = await deps.tenants.withClient(tenantId, (db) => findClient(db, req.params.id));
      if (!client) throw new NotFoundError('Client not found', ErrorCode.CLIENT_NOT_FOUND);
      res.json({ id: client.id, name: client.name });
    },
  );
  return api.router;
}
