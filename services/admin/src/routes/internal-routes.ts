import { ApiRouter, requireCaller, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { noteKeyUsage } from '../domain/api-keys';
import { setBillingHold } from '../domain/tenants';

/** The most keys one usage report may carry; the gateway sends at most this many per call. */
export const MAX_USAGE_ENTRIES = 5_000;

const Usage = z.strictObject({
  usage: z
    .array(z.strictObject({ id: z.uuid(), lastUsedAt: z.iso.datetime({ offset: true }) }))
    .min(1)
    .max(MAX_USAGE_ENTRIES),
});

const BillingHold = z.strictObject({
  hold: z.boolean().describe('true suspends an active tenant for an unpaid invoice; false reactivates one suspended for that reason only'),
  invoiceId: z.uuid().optional().describe('The overdue invoice, for the audit log'),
});

/** `/internal/...`: for other services, with a service JWT; each route names the services it answers. */
export function internalRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/internal');
  api.post(
    '/api-keys/usage',
    {
      operationId: 'internalReportKeyUsage',
      summary: 'When API keys were last used, batched by the gateway',
      tags: ['internal'],
      body: Usage,
      responses: { 204: { description: 'Recorded' } },
      access: 'service',
    },
    requireCaller('gateway'),
    async (req, res) => {
      await noteKeyUsage(deps.db, req.body.usage);
      res.status(204).end();
    },
  );
  api.post(
    '/tenants/:id/billing-hold',
    {
      operationId: 'internalSetBillingHold',
      summary: "Suspend a tenant for an unpaid invoice, or lift that suspension (billing's dunning)",
      description: "Idempotent: asked again, it changes nothing. An admin's suspension is never lifted by it.",
      tags: ['internal'],
      params: z.object({ id: z.uuid() }),
      body: BillingHold,
      responses: {
        200: {
          description: "The tenant's status after the call, and whether this call changed it",
          schema: z.object({ status: z.string(), suspendedFor: z.enum(['admin', 'unpaid']).nullable(), changed: z.boolean() }),
        },
      },
      errors: [404],
      access: 'service',
    },
    requireCaller('billing'),
    async (req, res) => {
      const { tenant, changed } = await setBillingHold(deps, req.params.id, req.body);
      res.json({ status: tenant.status, suspendedFor: tenant.suspendedFor, changed });
    },
  );
  return api.router;
}
