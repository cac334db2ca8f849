import { adminOf, ApiRouter, tenantOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { changeFlag, createFlag, flagByKey, flags, removeFlag } from '../domain/flags';
import { changePlan, createPlan, planByCode, plans } from '../domain/plans';
import { changeTenantPlan, entitlementsOf } from '../domain/tenant-plans';
import {
  ChangeTenantPlan,
  CreateFlag,
  CreatePlan,
  EntitlementsSchema,
  FlagKeyParams,
  FlagSchema,
  FlagValuesSchema,
  PlanChangeSchema,
  PlanCodeParams,
  PlanSchema,
  UpdateFlag,
  UpdatePlan,
} from './plan-schemas';

const ListPlansQuery = z.object({
  includeArchived: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
const TenantIdParams = z.object({ id: z.uuid() });
const EvaluateQuery = z.object({
  userId: z.string().min(1).max(200).optional().describe("The tenant's own user to evaluate user-sticky rollouts for"),
});

/** `/api/v1/subscription`: platform plans, tenants' plans and entitlements, feature flags. */
export function planRoutes(deps: ServiceDeps<'subscription'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/subscription');
  const reads = { access: 'admin', permission: 'plans:read' } as const;
  const writes = { access: 'admin', permission: 'plans:manage' } as const;

  api.get(
    '/plans',
    {
      operationId: 'listPlans',
      summary: 'Every plan with its latest version (archived ones when asked)',
      tags: ['plans'],
      query: ListPlansQuery,
      responses: { 200: { description: 'Plans, cheapest first', schema: z.object({ items: z.array(PlanSchema) }) } },
      ...reads,
    },
    async (req, res) => {
      res.json({ items: await plans(deps.db, { includeArchived: req.query.includeArchived, publicOnly: false }) });
    },
  );

  api.get(
    '/catalogue',
    {
      operationId: 'listPublicPlans',
      summary: 'The public plans a tenant may move to',
      tags: ['plans'],
      responses: { 200: { description: 'Public, open plans, cheapest first', schema: z.object({ items: z.array(PlanSchema) }) } },
      access: 'apiKey',
    },
    async (_req, res) => {
      res.json({ items: await plans(deps.db, { includeArchived: false, publicOnly: true }) });
    },
  );

  api.post(
    '/plans',
    {
      operationId: 'createPlan',
      summary: 'Create a plan (its version 1)',
      tags: ['plans'],
      body: CreatePlan,
      responses: { 201: { description: 'Created', schema: PlanSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      const plan = await createPlan(deps.db, adminOf(req), req.body);
      res.status(201).location(`/api/v1/subscription/plans/${plan.code}`).json(plan);
    },
  );

  api.get(
    '/plans/:code',
    {
      operationId: 'getPlan',
      summary: 'One plan',
      tags: ['plans'],
      params: PlanCodeParams,
      responses: { 200: { description: 'The plan', schema: PlanSchema } },
      ...reads,
    },
    async (req, res) => {
      res.json(await planByCode(deps.db, req.params.code));
    },
  );

  api.patch(
    '/plans/:code',
    {
      operationId: 'updatePlan',
      summary: 'Rename, publish or archive a plan, or change its terms (which writes a new version; subscribers move at their next period)',
      tags: ['plans'],
      params: PlanCodeParams,
      body: UpdatePlan,
      responses: { 200: { description: 'The plan', schema: PlanSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      res.json(await changePlan(deps.db, adminOf(req), req.params.code, req.body));
    },
  );

  api.post(
    '/tenants/:id/plan',
    {
      operationId: 'changeTenantPlan',
      summary: "Change a tenant's plan: an upgrade now (prorated), a downgrade at the period's end",
      tags: ['plans'],
      params: TenantIdParams,
      body: ChangeTenantPlan,
      responses: { 200: { description: 'The change', schema: PlanChangeSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      res.json(await changeTenantPlan(deps, adminOf(req), req.params.id, req.body));
    },
  );

  api.get(
    '/tenants/:id/entitlements',
    {
      operationId: 'getTenantEntitlements',
      summary: "A tenant's plan in force, its period, limits, usage and features",
      tags: ['plans'],
      params: TenantIdParams,
      responses: { 200: { description: 'Entitlements', schema: EntitlementsSchema } },
      ...reads,
    },
    async (req, res) => {
      res.json(await entitlementsOf(deps, req.params.id));
    },
  );

  api.get(
    '/entitlements',
    {
      operationId: 'getEntitlements',
      summary:
        "This tenant's plan, period, limits, usage so far and features (answers a suspended or over-quota tenant too), with an ETag: send If-None-Match to get 304 when nothing changed",
      tags: ['plans'],
      responses: { 200: { description: 'Entitlements', schema: EntitlementsSchema }, 304: { description: 'Not modified since the ETag sent' } },
      access: 'apiKey',
    },
    async (req, res) => {
      res.set('Cache-Control', 'private, no-cache').json(await entitlementsOf(deps, tenantOf(req), req.identity?.userId));
    },
  );

  api.get(
    '/flags',
    {
      operationId: 'listFlags',
      summary: 'Every feature flag',
      tags: ['flags'],
      responses: { 200: { description: 'Flags', schema: z.object({ items: z.array(FlagSchema) }) } },
      ...reads,
    },
    async (_req, res) => {
      res.json({ items: await flags(deps.db) });
    },
  );

  api.post(
    '/flags',
    {
      operationId: 'createFlag',
      summary: 'Create a feature flag',
      tags: ['flags'],
      body: CreateFlag,
      responses: { 201: { description: 'Created', schema: FlagSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      const flag = await createFlag(deps.db, adminOf(req), req.body);
      res.status(201).location(`/api/v1/subscription/flags/${flag.key}`).json(flag);
    },
  );

  api.get(
    '/flags/evaluate',
    {
      operationId: 'evaluateFlags',
      summary: "Every flag's value for this tenant (the key's), with an ETag: send If-None-Match to get 304 when nothing changed",
      tags: ['flags'],
      query: EvaluateQuery,
      responses: { 200: { description: 'Flag values', schema: FlagValuesSchema }, 304: { description: 'Not modified since the ETag sent' } },
      access: 'apiKey',
    },
    async (req, res) => {
      const values = await deps.entitlements.flagsFor(tenantOf(req), req.query.userId);
      res.set('Cache-Control', 'private, no-cache').json({ flags: values });
    },
  );

  api.get(
    '/flags/:key',
    {
      operationId: 'getFlag',
      summary: 'One feature flag',
      tags: ['flags'],
      params: FlagKeyParams,
      responses: { 200: { description: 'The flag', schema: FlagSchema } },
      ...reads,
    },
    async (req, res) => {
      res.json(await flagByKey(deps.db, req.params.key));
    },
  );

  api.patch(
    '/flags/:key',
    {
      operationId: 'updateFlag',
      summary: 'Change a feature flag (audited with before and after)',
      tags: ['flags'],
      params: FlagKeyParams,
      body: UpdateFlag,
      responses: { 200: { description: 'The flag', schema: FlagSchema } },
      ...writes,
    },
    async (req, res) => {
      res.json(await changeFlag(deps.db, adminOf(req), req.params.key, req.body));
    },
  );

  api.delete(
    '/flags/:key',
    {
      operationId: 'deleteFlag',
      summary: 'Delete a feature flag',
      tags: ['flags'],
      params: FlagKeyParams,
      responses: { 204: { description: 'Deleted' } },
      ...writes,
    },
    async (req, res) => {
      await removeFlag(deps.db, adminOf(req), req.params.key);
      res.status(204).end();
    },
  );

  return api.router;
}
