import {
  AmountMinor,
  ApiRouter,
  OffsetPage,
  Currency,
  idempotent,
  requiredVersion,
  tenantUserOf,
  withVersionEtag,
  type OpenApiRegistry,
  type ServiceDeps,
} from '@codex/shared';
import { z } from 'zod';
import * as catalogue from '../domain/catalogue';

const Id = z.object({ id: z.uuid() });
const Page = z.object(OffsetPage);

const PriceSchema = z
  .object({
    id: z.uuid(),
    productId: z.uuid(),
    amountMinor: z.number().int(),
    currency: z.string(),
    interval: z.enum(['month', 'year']).nullable(),
    trialDays: z.number().int(),
    active: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Price' });
const ProductSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    active: z.boolean(),
    version: z.number().int(),
    prices: z.array(PriceSchema),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Product' });
const SubscriptionSchema = z
  .object({
    id: z.uuid(),
    clientId: z.uuid(),
    priceId: z.uuid(),
    quantity: z.number().int(),
    status: z.enum(['trialing', 'active', 'paused', 'canceled']),
    trialEnd: z.iso.datetime().nullable(),
    currentPeriodStart: z.iso.datetime(),
    currentPeriodEnd: z.iso.datetime(),
    cancelAtPeriodEnd: z.boolean(),
    pausedAt: z.iso.datetime().nullable(),
    canceledAt: z.iso.datetime().nullable(),
    version: z.number().int(),
    price: z.object({ amountMinor: z.number().int(), currency: z.string(), interval: z.enum(['month', 'year']) }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Subscription' });

const CreateProduct = z.strictObject({ name: z.string().trim().min(1).max(200), description: z.string().max(2000).default('') });
const UpdateProduct = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    active: z.boolean().optional(),
    version: z.number().int().positive().optional(),
  })
  .refine((body) => Object.keys(body).some((key) => key !== 'version'), 'nothing to change');
const CreatePrice = z.strictObject({
  amountMinor: AmountMinor,
  currency: Currency,
  interval: z.enum(['month', 'year']).nullable().describe('null: a one-off price'),
  trialDays: z.number().int().min(0).max(365).default(0),
});
const CreateSubscription = z.strictObject({
  clientId: z.uuid(),
  priceId: z.uuid(),
  quantity: z.number().int().min(1).max(1_000_000).default(1),
  trialDays: z.number().int().min(0).max(365).optional().describe("The price's trial when left out"),
});
const ChangeSubscription = z
  .strictObject({ priceId: z.uuid().optional(), quantity: z.number().int().min(1).max(1_000_000).optional() })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');
const Cancel = z.strictObject({ atPeriodEnd: z.boolean().default(true).describe('Cancel when the period ends (default) or now') });
const SubscriptionQuery = Page.extend({ clientId: z.uuid().optional() });

/** `/api/v1/subscription/products|subscriptions`: a tenant's own catalogue and its clients' subscriptions. */
export function catalogueRoutes(deps: ServiceDeps<'subscription'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/subscription');
  const reads = { access: 'user', permission: 'subscriptions:read' } as const;
  const writes = { access: 'user', permission: 'subscriptions:manage' } as const;
  const once = idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger });
  const catalogueDeps = { tenants: deps.tenants, clients: deps.clients };

  api.get(
    '/products',
    {
      operationId: 'listProducts',
      summary: 'Products with their prices, newest first',
      tags: ['catalogue'],
      query: Page,
      responses: { 200: { description: 'Products', schema: z.object({ items: z.array(ProductSchema) }) } },
      ...reads,
    },
    async (req, res) => {
      res.json({ items: await catalogue.products(catalogueDeps, tenantUserOf(req), req.query) });
    },
  );
  api.post(
    '/products',
    {
      operationId: 'createProduct',
      summary: 'Create a product',
      tags: ['catalogue'],
      body: CreateProduct,
      responses: { 201: { description: 'Created', schema: ProductSchema } },
      ...writes,
    },
    once,
    async (req, res) => {
      const created = await catalogue.createProduct(catalogueDeps, tenantUserOf(req), req.body);
      withVersionEtag(res, created).status(201).location(`/api/v1/subscription/products/${created.id}`).json(created);
    },
  );
  api.get(
    '/products/:id',
    {
      operationId: 'getProduct',
      summary: 'One product with its prices',
      tags: ['catalogue'],
      params: Id,
      responses: { 200: { description: 'The product', schema: ProductSchema } },
      ...reads,
    },
    async (req, res) => {
      const found = await catalogue.product(catalogueDeps, tenantUserOf(req), req.params.id);
      withVersionEtag(res, found).json(found);
    },
  );
  api.patch(
    '/products/:id',
    {
      operationId: 'updateProduct',
      summary: 'Rename, describe or (de)activate a product (If-Match or `version` required)',
      tags: ['catalogue'],
      params: Id,
      body: UpdateProduct,
      responses: { 200: { description: 'The product', schema: ProductSchema } },
      errors: [409, 428],
      ...writes,
    },
    async (req, res) => {
      const { version, ...changes } = req.body;
      const changed = await catalogue.changeProduct(catalogueDeps, tenantUserOf(req), req.params.id, requiredVersion(req.get('if-match'), version), changes);
      withVersionEtag(res, changed).json(changed);
    },
  );
  api.post(
    '/products/:id/prices',
    {
      operationId: 'createPrice',
      summary: 'Add a price to a product (prices never change; add another and deactivate this one)',
      tags: ['catalogue'],
      params: Id,
      body: CreatePrice,
      responses: { 201: { description: 'Created', schema: PriceSchema } },
      ...writes,
    },
    once,
    async (req, res) => {
      res.status(201).json(await catalogue.addPrice(catalogueDeps, tenantUserOf(req), req.params.id, req.body));
    },
  );

  api.get(
    '/subscriptions',
    {
      operationId: 'listSubscriptions',
      summary: "Clients' subscriptions as they stand now, newest first",
      tags: ['subscriptions'],
      query: SubscriptionQuery,
      responses: { 200: { description: 'Subscriptions', schema: z.object({ items: z.array(SubscriptionSchema) }) } },
      ...reads,
    },
    async (req, res) => {
      res.json({ items: await catalogue.subscriptions(catalogueDeps, tenantUserOf(req), req.query) });
    },
  );
  api.post(
    '/subscriptions',
    {
      operationId: 'createSubscription',
      summary: 'Subscribe a client to a recurring price (trialing when the price or request gives trial days)',
      tags: ['subscriptions'],
      body: CreateSubscription,
      responses: { 201: { description: 'Created', schema: SubscriptionSchema } },
      ...writes,
    },
    once,
    async (req, res) => {
      const created = await catalogue.subscribe(catalogueDeps, tenantUserOf(req), req.body);
      res.status(201).location(`/api/v1/subscription/subscriptions/${created.id}`).json(created);
    },
  );
  api.get(
    '/subscriptions/:id',
    {
      operationId: 'getSubscription',
      summary: 'One subscription as it stands now',
      tags: ['subscriptions'],
      params: Id,
      responses: { 200: { description: 'The subscription', schema: SubscriptionSchema } },
      ...reads,
    },
    async (req, res) => {
      res.json(await catalogue.subscription(catalogueDeps, tenantUserOf(req), req.params.id));
    },
  );
  api.patch(
    '/subscriptions/:id',
    {
      operationId: 'updateSubscription',
      summary: 'Change the price or quantity now, with the proration recorded for billing',
      tags: ['subscriptions'],
      params: Id,
      body: ChangeSubscription,
      responses: { 200: { description: 'The subscription', schema: SubscriptionSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      res.json(await catalogue.act(catalogueDeps, tenantUserOf(req), req.params.id, 'change', req.body));
    },
  );
  const steps = [
    ['activate', 'activateSubscription', 'End the trial now and start the first paid period'],
    ['pause', 'pauseSubscription', 'Pause a subscription'],
    ['resume', 'resumeSubscription', 'Resume a paused subscription'],
  ] as const;
  for (const [action, operationId, summary] of steps) {
    api.post(
      `/subscriptions/:id/${action}`,
      {
        operationId,
        summary,
        tags: ['subscriptions'],
        params: Id,
        responses: { 200: { description: 'The subscription', schema: SubscriptionSchema } },
        errors: [409],
        ...writes,
      },
      async (req, res) => {
        res.json(await catalogue.act(catalogueDeps, tenantUserOf(req), req.params.id, action));
      },
    );
  }
  api.post(
    '/subscriptions/:id/cancel',
    {
      operationId: 'cancelSubscription',
      summary: 'Cancel at the period end (default) or now',
      tags: ['subscriptions'],
      params: Id,
      body: Cancel,
      responses: { 200: { description: 'The subscription', schema: SubscriptionSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      res.json(await catalogue.act(catalogueDeps, tenantUserOf(req), req.params.id, 'cancel', { atPeriodEnd: req.body.atPeriodEnd }));
    },
  );

  return api.router;
}
