import { ApiRouter, requireCaller, tenantOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { setBillingHold } from '../domain/catalogue';

/** `/internal/...`: billing's dunning pauses a client's subscription for an unpaid invoice, and resumes it once paid. */
export function internalRoutes(deps: ServiceDeps<'subscription'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/internal');
  api.post(
    '/subscriptions/:id/billing-hold',
    {
      operationId: 'internalSetSubscriptionBillingHold',
      summary: "Pause a client's subscription for an unpaid invoice, or resume one paused for that (billing's dunning)",
      description: 'Idempotent. A subscription the tenant paused itself, or one canceled, is left as it is.',
      tags: ['internal'],
      params: z.object({ id: z.uuid() }),
      body: z.strictObject({ hold: z.boolean().describe('true: pause for an unpaid invoice; false: resume if paused for one') }),
      responses: {
        200: {
          description: "The subscription's status after the call, and whether this call changed it",
          schema: z.object({ status: z.enum(['trialing', 'active', 'paused', 'canceled']), changed: z.boolean() }),
        },
      },
      errors: [404],
      access: 'service',
    },
    requireCaller('billing'),
    async (req, res) => {
      const { subscription, changed } = await setBillingHold({ tenants: deps.tenants, clients: deps.clients }, tenantOf(req), req.params.id, req.body.hold);
      res.json({ status: subscription.status, changed });
    },
  );
  return api.router;
}
