import { ApiRouter, OffsetPage, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { dunningPage, runDunning, type DunningDeps } from '../domain/dunning';

const DunningState = z.enum(['past_due', 'grace', 'suspended']);
const DunningSchema = z
  .object({
    tenantId: z.uuid(),
    tenantSlug: z.string(),
    state: DunningState.describe('past_due: charges are retried; grace: retries spent, still served; suspended: refused until paid'),
    invoiceId: z.uuid().describe('The oldest overdue invoice'),
    overdueSince: z.string(),
    stateSince: z.string(),
    outstandingMinor: z.number().int().describe('What is unpaid of its finalized invoices, in minor units'),
  })
  .meta({ id: 'TenantDunning' });
const DunningQuery = z.object({ state: DunningState.optional(), ...OffsetPage });
const RunBody = z.strictObject({ tenantId: z.uuid().optional().describe('One tenant only') });
const RunOutcome = z.object({
  retried: z.number().int(),
  past_due: z.number().int(),
  grace: z.number().int(),
  suspended: z.number().int(),
  clear: z.number().int().describe('Tenants whose dunning ended in this run, or had nothing overdue'),
});

/** Tenants with overdue invoices, and the dunning run by hand. */
export function dunningRoutes(_deps: ServiceDeps<'billing'>, openapi: OpenApiRegistry, dunning: DunningDeps) {
  const api = new ApiRouter(openapi, '/api/v1/billing');

  api.get(
    '/dunning',
    {
      operationId: 'listDunningTenants',
      summary: 'Tenants with overdue invoices and where dunning stands for each, longest overdue first',
      tags: ['payments'],
      query: DunningQuery,
      responses: { 200: { description: 'A page of tenants in dunning', schema: z.object({ items: z.array(DunningSchema), total: z.number().int() }) } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await dunningPage(dunning.db, req.query));
    },
  );

  api.post(
    '/dunning/run',
    {
      operationId: 'runDunning',
      summary: 'Retry due charges and move tenants through past due, grace and suspension now (the job does this hourly)',
      tags: ['payments'],
      body: RunBody,
      responses: { 200: { description: 'Charges retried, and tenants per state after the run', schema: RunOutcome } },
      access: 'admin',
      permission: 'revenue:manage',
    },
    async (req, res) => {
      res.json(await runDunning(dunning, new Date(), req.body.tenantId));
    },
  );

  return api.router;
}
