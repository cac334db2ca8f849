import { ApiRouter, ClientKeys, ClientLookup, ClientLookupAnswer, requireCaller, tenantOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { linkableClient, lookupClients } from '../domain/client-links';

/** `/internal/...`: for the services that link records to clients (the CRM's contacts and deals, the subscription service's subscriptions), with a service JWT naming the tenant. */
export function internalRoutes(deps: ServiceDeps<'client'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/internal');
  api.router.use(requireCaller('crm', 'subscription'));
  api.get(
    '/clients/:id',
    {
      operationId: 'internalGetClientKeys',
      summary: 'A live client of the calling tenant, by id (404 when there is none)',
      tags: ['internal'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The client', schema: ClientKeys } },
      access: 'service',
    },
    async (req, res) => {
      res.json(await linkableClient(deps.tenants, tenantOf(req), req.params.id));
    },
  );
  api.post(
    '/clients/lookup',
    {
      operationId: 'internalLookupClients',
      summary: 'Live clients of the calling tenant by external id, email or id, in one call',
      tags: ['internal'],
      body: ClientLookup,
      responses: { 200: { description: 'The clients found (each once)', schema: ClientLookupAnswer } },
      access: 'service',
    },
    async (req, res) => {
      res.json({ items: await lookupClients(deps.tenants, tenantOf(req), req.body) });
    },
  );
  return api.router;
}
