import { ApiRouter, idempotent, OffsetPage, tenantUserOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import {
  changeClientBillingSettings,
  clientBillingSettings,
  clientInvoice,
  clientInvoiceDocument,
  clientInvoices,
  clientPayment,
  clientPayments,
  closeClientInvoice,
  closeClientPeriods,
  refundClientPayment,
  takeClientPayment,
  type ClientBillingDeps,
} from '../domain/client-billing';
import {
  DocumentContent,
  DocumentQuery,
  newPaymentSchema,
  NewRefund,
  PaymentFields,
  PaymentMethodId,
  PaymentStatus,
  sendDocument,
  StripeKeys,
} from './billing-schemas';

const InvoiceStatus = z.enum(['finalized', 'paid', 'void', 'uncollectible']);

const ClientInvoiceSchema = z
  .object({
    id: z.uuid(),
    clientId: z.uuid(),
    subscriptionId: z.uuid(),
    number: z.string().describe('INV-<year>-<6 digits>, without gaps per year in this tenant'),
    status: InvoiceStatus,
    currency: z.string(),
    periodStart: z.string(),
    periodEnd: z.string(),
    subtotalMinor: z.number().int(),
    taxRateBp: z.number().int().describe('Tax rate in basis points (2000 = 20 %)'),
    taxMinor: z.number().int(),
    totalMinor: z.number().int(),
    paidMinor: z.number().int(),
    issuedAt: z.string(),
    dueAt: z.string(),
    paidAt: z.string().nullable(),
    voidedAt: z.string().nullable(),
    lines: z.array(
      z.object({
        kind: z.enum(['subscription', 'proration']),
        description: z.string(),
        quantity: z.number().int(),
        unitAmountMinor: z.number().int(),
        amountMinor: z.number().int(),
        source: z.record(z.string(), z.unknown()).describe('What the line was computed from'),
      }),
    ),
  })
  .meta({ id: 'ClientInvoice' });

const ClientPaymentSchema = z.object(PaymentFields).meta({ id: 'ClientPayment' });

const SettingsSchema = z
  .object({
    issuerName: z.string().describe('The name invoices are issued in'),
    taxRateBp: z.number().int(),
    paymentTermsDays: z.number().int(),
    stripe: z.object({ configured: z.boolean(), keyHint: z.string().nullable().describe("The secret key's last four characters") }),
    updatedAt: z.string().nullable(),
  })
  .meta({ id: 'ClientBillingSettings' });

const ChangeSettings = z
  .strictObject({
    issuerName: z.string().trim().max(200).optional(),
    taxRateBp: z.number().int().min(0).max(10_000).optional().describe('Tax rate in basis points (2000 = 20 %)'),
    paymentTermsDays: z.number().int().min(0).max(365).optional(),
    stripe: StripeKeys.nullable().optional().describe("The tenant's own Stripe account (stored sealed, never shown); null removes it"),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');

const NewClientPayment = newPaymentSchema("charge through the tenant's own Stripe account", {
  paymentMethod: PaymentMethodId.optional().describe('A Stripe payment: the payment method to charge'),
  customer: z
    .string()
    .regex(/^cus_[A-Za-z0-9]{1,200}$/)
    .optional()
    .describe('A Stripe payment: the customer the payment method belongs to'),
});

const IdParams = z.object({ id: z.uuid() });
const InvoicesQuery = z.object({ clientId: z.uuid().optional(), subscriptionId: z.uuid().optional(), status: InvoiceStatus.optional(), ...OffsetPage });
const PaymentsQuery = z.object({ invoiceId: z.uuid().optional(), status: PaymentStatus.optional(), ...OffsetPage });

export function clientBillingDeps(deps: ServiceDeps<'billing'>): ClientBillingDeps {
  return {
    tenants: deps.tenants,
    secrets: deps.secrets,
    logger: deps.logger,
    stripeApiBase: deps.config.billing.stripeApiBase,
    stripeTimeoutMs: deps.config.billing.stripeTimeoutMs,
    dunning: {
      retryDays: deps.config.billing.dunningRetryDays,
      graceDays: deps.config.billing.dunningGraceDays,
      subscriptions: deps.clients.get('subscription'),
    },
  };
}

/**
 * `/api/v1/billing/client-…`: a tenant invoicing and charging its own clients
 * for their subscriptions, in its own database and with its own Stripe account.
 */
export function clientBillingRoutes(deps: ServiceDeps<'billing'>, openapi: OpenApiRegistry, billing: ClientBillingDeps) {
  const api = new ApiRouter(openapi, '/api/v1/billing');
  const reads = { access: 'user', permission: 'billing:read' } as const;
  const writes = { access: 'user', permission: 'billing:manage' } as const;
  const once = idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger });

  api.get(
    '/client-billing-settings',
    {
      operationId: 'getClientBillingSettings',
      summary: 'How this tenant bills its clients (the Stripe keys are never shown)',
      tags: ['client billing'],
      responses: { 200: { description: 'The settings', schema: SettingsSchema } },
      ...reads,
    },
    async (req, res) => {
      res.json(await clientBillingSettings(billing, tenantUserOf(req)));
    },
  );
  api.patch(
    '/client-billing-settings',
    {
      operationId: 'updateClientBillingSettings',
      summary: "Change the issuer name, tax rate, payment terms or the tenant's own Stripe account",
      tags: ['client billing'],
      body: ChangeSettings,
      responses: { 200: { description: 'The settings', schema: SettingsSchema } },
      ...writes,
    },
    async (req, res) => {
      res.json(await changeClientBillingSettings(billing, tenantUserOf(req), req.body));
    },
  );

  api.post(
    '/client-invoices/close',
    {
      operationId: 'closeClientPeriods',
      summary: "Invoice every started, unbilled period of this tenant's subscriptions now (the job does it every five minutes)",
      tags: ['client billing'],
      responses: { 200: { description: 'How many invoices were issued', schema: z.object({ invoices: z.number().int() }) } },
      ...writes,
    },
    async (req, res) => {
      res.json(await closeClientPeriods(billing, tenantUserOf(req).tenantId));
    },
  );
  api.get(
    '/client-invoices',
    {
      operationId: 'listClientInvoices',
      summary: "This tenant's invoices to its clients, newest first, by client, subscription and status",
      tags: ['client billing'],
      query: InvoicesQuery,
      responses: { 200: { description: 'A page of invoices', schema: z.object({ items: z.array(ClientInvoiceSchema), total: z.number().int() }) } },
      ...reads,
    },
    async (req, res) => {
      res.json(await clientInvoices(billing, tenantUserOf(req), req.query));
    },
  );
  api.get(
    '/client-invoices/:id',
    {
      operationId: 'getClientInvoice',
      summary: "One of this tenant's invoices to its clients",
      tags: ['client billing'],
      params: IdParams,
      responses: { 200: { description: 'The invoice with its lines', schema: ClientInvoiceSchema } },
      errors: [404],
      ...reads,
    },
    async (req, res) => {
      res.json(await clientInvoice(billing, tenantUserOf(req), req.params.id));
    },
  );
  api.get(
    '/client-invoices/:id/document',
    {
      operationId: 'downloadClientInvoice',
      summary: "One of this tenant's invoices to its clients, as PDF or HTML",
      tags: ['client billing'],
      params: IdParams,
      query: DocumentQuery,
      responses: { 200: { description: 'The invoice document', content: DocumentContent } },
      errors: [404],
      ...reads,
    },
    async (req, res) => {
      sendDocument(res, await clientInvoiceDocument(billing, tenantUserOf(req), req.params.id, req.query.format));
    },
  );
  for (const status of ['void', 'uncollectible'] as const) {
    api.post(
      `/client-invoices/:id/${status}`,
      {
        operationId: status === 'void' ? 'voidClientInvoice' : 'markClientInvoiceUncollectible',
        summary: status === 'void' ? 'Void an invoice nothing was paid of (it keeps its number)' : 'Write off what is left of an invoice',
        tags: ['client billing'],
        params: IdParams,
        responses: { 200: { description: 'The invoice', schema: ClientInvoiceSchema } },
        errors: [404, 409],
        ...writes,
      },
      async (req, res) => {
        res.json(await closeClientInvoice(billing, tenantUserOf(req), req.params.id, status));
      },
    );
  }

  api.post(
    '/client-payments',
    {
      operationId: 'createClientPayment',
      summary: "Pay a client's invoice: record a manual payment, or charge through the tenant's Stripe account (send an Idempotency-Key)",
      description:
        'At most one payment of an invoice is under way at a time (409 PAYMENT_IN_PROGRESS). A Stripe charge whose outcome is unknown stays pending and is settled by reconciliation, never charged again.',
      tags: ['client billing'],
      body: NewClientPayment,
      responses: { 201: { description: 'The payment, with its outcome (a declined charge is `failed`)', schema: ClientPaymentSchema } },
      errors: [404, 409, 422],
      ...writes,
    },
    once,
    async (req, res) => {
      const created = await takeClientPayment(billing, tenantUserOf(req), req.body);
      res.status(201).location(`/api/v1/billing/client-payments/${created.id}`).json(created);
    },
  );
  api.get(
    '/client-payments',
    {
      operationId: 'listClientPayments',
      summary: "Payments of this tenant's client invoices, newest first",
      tags: ['client billing'],
      query: PaymentsQuery,
      responses: { 200: { description: 'A page of payments', schema: z.object({ items: z.array(ClientPaymentSchema), total: z.number().int() }) } },
      ...reads,
    },
    async (req, res) => {
      res.json(await clientPayments(billing, tenantUserOf(req), req.query));
    },
  );
  api.get(
    '/client-payments/:id',
    {
      operationId: 'getClientPayment',
      summary: "One payment of this tenant's client invoices",
      tags: ['client billing'],
      params: IdParams,
      responses: { 200: { description: 'The payment', schema: ClientPaymentSchema } },
      errors: [404],
      ...reads,
    },
    async (req, res) => {
      res.json(await clientPayment(billing, tenantUserOf(req), req.params.id));
    },
  );

  api.post(
    '/client-payments/:id/refunds',
    {
      operationId: 'refundClientPayment',
      summary: "Refund all or part of a client's payment, never more than is left of it (send an Idempotency-Key)",
      tags: ['client billing'],
      params: IdParams,
      body: NewRefund,
      responses: { 201: { description: 'The payment with what is refunded of it', schema: ClientPaymentSchema } },
      errors: [404, 409, 422, 502, 504],
      ...writes,
    },
    once,
    async (req, res) => {
      res.status(201).json(await refundClientPayment(billing, tenantUserOf(req), req.params.id, req.body));
    },
  );

  return api.router;
}
