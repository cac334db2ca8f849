import express from 'express';
import { adminOf, ApiRouter, idempotent, OffsetPage, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { receiveClientStripeWebhook } from '../domain/client-billing';
import { newPaymentSchema, NewRefund, PaymentFields, PaymentMethodId, PaymentStatus, StripeKeys } from './billing-schemas';
import { clientBillingDeps } from './client-billing-routes';
import { configureStripe, paymentOf, payments, receiveStripeWebhook, refundPayment, stripeStatus, takePayment, type PaymentDeps } from '../domain/payments';

const PaymentSchema = z.object({ ...PaymentFields, tenantId: z.uuid() }).meta({ id: 'Payment' });

const NewPayment = newPaymentSchema('charge the saved or given payment method', {
  paymentMethod: PaymentMethodId.optional().describe("A Stripe payment method; the tenant's saved one when left out"),
});

const ProviderStatus = z.object({ provider: z.literal('stripe'), configured: z.boolean(), keyHint: z.string().nullable(), updatedAt: z.string().nullable() });

const IdParams = z.object({ id: z.uuid() });
const PaymentsQuery = z.object({ tenantId: z.uuid().optional(), invoiceId: z.uuid().optional(), status: PaymentStatus.optional(), ...OffsetPage });

export function paymentDeps(deps: ServiceDeps<'billing'>, onSettled?: PaymentDeps['onSettled']): PaymentDeps {
  return {
    db: deps.db,
    secrets: deps.secrets,
    logger: deps.logger,
    stripeApiBase: deps.config.billing.stripeApiBase,
    stripeTimeoutMs: deps.config.billing.stripeTimeoutMs,
    onSettled,
  };
}

/** Payments and refunds of the platform's invoices, the Stripe account, and Stripe's webhook (raw body). */
export function paymentRoutes(deps: ServiceDeps<'billing'>, openapi: OpenApiRegistry, payment: PaymentDeps) {
  const api = new ApiRouter(openapi, '/api/v1/billing');
  const once = idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger });

  api.post(
    '/payments',
    {
      operationId: 'createPayment',
      summary: 'Pay an invoice: record a manual payment, or charge through Stripe (send an Idempotency-Key)',
      description:
        'At most one payment of an invoice is under way at a time (409 PAYMENT_IN_PROGRESS). A Stripe charge whose outcome is unknown (a timeout) stays pending and is settled by reconciliation, never charged again.',
      tags: ['payments'],
      body: NewPayment,
      responses: { 201: { description: 'The payment, with its outcome (a declined charge is `failed`)', schema: PaymentSchema } },
      errors: [404, 409, 422],
      access: 'admin',
      permission: 'revenue:manage',
    },
    once,
    async (req, res) => {
      const created = await takePayment(payment, { adminId: adminOf(req) }, req.body);
      res.status(201).location(`/api/v1/billing/payments/${created.id}`).json(created);
    },
  );

  api.get(
    '/payments',
    {
      operationId: 'listPayments',
      summary: 'Payments, newest first, by tenant, invoice and status',
      tags: ['payments'],
      query: PaymentsQuery,
      responses: { 200: { description: 'A page of payments', schema: z.object({ items: z.array(PaymentSchema), total: z.number().int() }) } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await payments(deps.db, req.query));
    },
  );

  api.get(
    '/payments/:id',
    {
      operationId: 'getPayment',
      summary: 'One payment',
      tags: ['payments'],
      params: IdParams,
      responses: { 200: { description: 'The payment', schema: PaymentSchema } },
      errors: [404],
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await paymentOf(deps.db, req.params.id));
    },
  );

  api.post(
    '/payments/:id/refunds',
    {
      operationId: 'refundPayment',
      summary: 'Refund all or part of a succeeded payment, never more than is left of it',
      tags: ['payments'],
      params: IdParams,
      body: NewRefund,
      responses: { 201: { description: 'The payment with what is refunded of it', schema: PaymentSchema } },
      errors: [404, 409, 422],
      access: 'admin',
      permission: 'revenue:manage',
    },
    once,
    async (req, res) => {
      res.status(201).json(await refundPayment(payment, adminOf(req), req.params.id, req.body));
    },
  );

  api.get(
    '/providers/stripe',
    {
      operationId: 'getStripeProvider',
      summary: "Whether the platform's Stripe account is set up (never its keys)",
      tags: ['payments'],
      responses: { 200: { description: "Whether it is configured, and the key's last four characters", schema: ProviderStatus } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (_req, res) => {
      res.json(await stripeStatus(deps.db));
    },
  );

  api.put(
    '/providers/stripe',
    {
      operationId: 'configureStripeProvider',
      summary: "Set the platform's Stripe secret key and webhook signing secret (stored sealed, never shown again)",
      tags: ['payments'],
      body: StripeKeys,
      responses: { 200: { description: 'Configured', schema: ProviderStatus } },
      access: 'admin',
      permission: 'revenue:manage',
    },
    async (req, res) => {
      res.json(await configureStripe(deps.db, deps.secrets, adminOf(req), req.body));
    },
  );

  return api.router;
}

/** Stripe's webhooks (the platform's account, and each tenant's own) read the raw body (the signature covers the exact bytes): mounted before JSON parsing. */
export function stripeWebhookRoute(deps: ServiceDeps<'billing'>, openapi: OpenApiRegistry, payment: PaymentDeps) {
  const api = new ApiRouter(openapi, '/api/v1/billing');
  api.post(
    '/webhooks/stripe',
    {
      operationId: 'receiveStripeWebhook',
      summary: "Stripe's events about payments and refunds (signature checked, each event applied once, in any order)",
      tags: ['payments'],
      rawBody: { contentTypes: ['application/json'], description: 'The event exactly as Stripe sent it' },
      responses: { 200: { description: 'Received', schema: z.object({ received: z.literal(true), duplicate: z.boolean() }) } },
      errors: [409, 413],
      access: 'public',
    },
    express.raw({ type: () => true, limit: deps.config.bodyLimit }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      res.json(await receiveStripeWebhook(payment, body, req.get('stripe-signature')));
    },
  );
  api.post(
    '/webhooks/stripe/tenants/:tenantId',
    {
      operationId: 'receiveClientStripeWebhook',
      summary: "Events from a tenant's own Stripe account about its clients' payments (signature checked with that tenant's secret)",
      tags: ['client billing'],
      params: z.object({ tenantId: z.uuid() }),
      rawBody: { contentTypes: ['application/json'], description: 'The event exactly as Stripe sent it' },
      responses: { 200: { description: 'Received', schema: z.object({ received: z.literal(true), duplicate: z.boolean() }) } },
      errors: [404, 409, 413],
      access: 'public',
    },
    express.raw({ type: () => true, limit: deps.config.bodyLimit }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      res.json(await receiveClientStripeWebhook({ ...clientBillingDeps(deps), db: deps.db }, req.params.tenantId, body, req.get('stripe-signature')));
    },
  );
  return api.router;
}
