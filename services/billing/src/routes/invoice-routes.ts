import { adminOf, ApiRouter, idempotent, OffsetPage, tenantOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { AmountMinor, DocumentContent, DocumentQuery, sendDocument } from './billing-schemas';
import {
  billingSettingsOf,
  changeBillingSettings,
  closeInvoice,
  closePeriods,
  creditNotes,
  issueCreditNote,
  invoiceDocument,
  invoiceOf,
  invoices,
  revenue,
  verifyInvoice,
} from '../domain/invoicing';

const InvoiceStatus = z.enum(['draft', 'finalized', 'paid', 'void', 'uncollectible']);
const InvoiceLineSchema = z.object({
  kind: z.enum(['plan', 'proration', 'overage']),
  description: z.string(),
  quantity: z.number().int(),
  unitAmountMinor: z.number().int(),
  amountMinor: z.number().int(),
  source: z.record(z.string(), z.unknown()).describe('What the line was computed from'),
});
const InvoiceSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    number: z.string().nullable().describe('INV-<year>-<6 digits>, without gaps per year; null while a draft'),
    status: InvoiceStatus,
    currency: z.string(),
    periodStart: z.string(),
    periodEnd: z.string(),
    plan: z.object({ code: z.string(), version: z.number().int() }),
    subtotalMinor: z.number().int(),
    taxRateBp: z.number().int().describe('Tax rate in basis points (2000 = 20 %)'),
    taxMinor: z.number().int(),
    totalMinor: z.number().int(),
    paidMinor: z.number().int().describe('What payments have brought in; refunds are on the payments'),
    creditedMinor: z.number().int().describe('What credit notes took off it; owed: total − paid − credited'),
    issuedAt: z.string().nullable(),
    dueAt: z.string().nullable(),
    paidAt: z.string().nullable(),
    voidedAt: z.string().nullable(),
    lines: z.array(InvoiceLineSchema),
  })
  .meta({ id: 'Invoice' });
const InvoicePage = z.object({ items: z.array(InvoiceSchema), total: z.number().int() });
const Totals = z.object({ subtotalMinor: z.number().int(), taxMinor: z.number().int(), totalMinor: z.number().int() });
const VerificationSchema = z.object({
  invoiceId: z.uuid(),
  matches: z.boolean(),
  recomputable: z.boolean().describe('False when retention has dropped raw events of the period'),
  stored: Totals.extend({ apiCalls: z.number().int().nullable() }),
  recomputed: Totals.extend({ apiCalls: z.number().int() }).nullable(),
});
const SettingsSchema = z.object({
  tenantId: z.uuid(),
  taxRateBp: z.number().int(),
  paymentTermsDays: z.number().int(),
  billingEmail: z.string().nullable(),
  stripeCustomerId: z.string().nullable(),
  stripePaymentMethodId: z.string().nullable(),
});
const ChangeSettings = z
  .strictObject({
    taxRateBp: z.number().int().min(0).max(10_000).optional().describe('Tax rate in basis points (2000 = 20 %)'),
    paymentTermsDays: z.number().int().min(0).max(365).optional(),
    billingEmail: z.email().max(254).nullable().optional(),
    stripeCustomerId: z
      .string()
      .regex(/^cus_[A-Za-z0-9]{1,200}$/)
      .nullable()
      .optional()
      .describe('The Stripe customer charged off-session'),
    stripePaymentMethodId: z
      .string()
      .regex(/^pm_[A-Za-z0-9_]{1,200}$/)
      .nullable()
      .optional()
      .describe('The saved payment method charged for invoices and dunning retries'),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');

const IdParams = z.object({ id: z.uuid() });
const TenantInvoicesQuery = z.object({ tenantId: z.uuid().optional(), status: InvoiceStatus.optional(), ...OffsetPage });
const OwnInvoicesQuery = z.object({ status: InvoiceStatus.optional(), ...OffsetPage });

const CloseInvoiceBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional().describe('Kept in the audit log') });
const Instant = z.iso.datetime({ offset: true });
const RevenueQuery = z
  .object({
    from: Instant.optional().describe('Invoices issued from (default: 12 months before `to`)'),
    to: Instant.optional().describe('Invoices issued before (default: now)'),
  })
  .refine((q) => !q.from || !q.to || new Date(q.from) < new Date(q.to), { path: ['to'], message: 'must be after from' })
  .refine((q) => !q.from || !q.to || new Date(q.to).getTime() - new Date(q.from).getTime() <= 10 * 366 * 86_400_000, {
    path: ['to'],
    message: 'at most ten years after from',
  });
const RevenueSchema = z.object({
  from: z.string(),
  to: z.string(),
  items: z.array(
    z.object({
      period: z.string().describe('YYYY-MM (UTC) of issue'),
      currency: z.string(),
      invoices: z.number().int().describe('Issued, void ones left out'),
      voidedInvoices: z.number().int(),
      billedMinor: z.number().int(),
      collectedMinor: z.number().int().describe('Paid of those invoices, refunds not taken off'),
      refundedMinor: z.number().int(),
      creditedMinor: z.number().int().describe('Taken off by credit notes'),
      outstandingMinor: z.number().int().describe('Still owed on finalized invoices'),
      writtenOffMinor: z.number().int().describe('Left unpaid on invoices marked uncollectible'),
    }),
  ),
});
const CreditNoteSchema = z
  .object({
    id: z.uuid(),
    invoiceId: z.uuid(),
    tenantId: z.uuid(),
    number: z.string().describe('CN-<year>-<6 digits>, without gaps per year'),
    currency: z.string(),
    amountMinor: z.number().int(),
    reason: z.string(),
    issuedAt: z.string(),
  })
  .meta({ id: 'CreditNote' });
const NewCreditNote = z.strictObject({
  amountMinor: AmountMinor.describe('What to take off the invoice, tax included, in its minor units'),
  reason: z.string().trim().min(1).max(500).describe('Printed on the credit note and kept in the audit log'),
});
const CreditNotePage = z.object({ items: z.array(CreditNoteSchema), total: z.number().int() });
const TenantCreditNotesQuery = z.object({ tenantId: z.uuid().optional(), invoiceId: z.uuid().optional(), ...OffsetPage });
const OwnCreditNotesQuery = z.object({ invoiceId: z.uuid().optional(), ...OffsetPage });

const CloseBody = z.strictObject({ tenantId: z.uuid().optional().describe('One tenant only') });

/** The platform's invoices to its tenants: the period close, reads, the recompute check, and billing settings. */
export function invoiceRoutes(deps: ServiceDeps<'billing'>, openapi: OpenApiRegistry, afterClose?: (tenantId: string) => Promise<void>) {
  const api = new ApiRouter(openapi, '/api/v1/billing');

  api.post(
    '/tenant-invoices/:id/credit-notes',
    {
      operationId: 'issueCreditNote',
      summary: 'Correct a finalized invoice with a credit note (send an Idempotency-Key); the invoice itself never changes',
      description:
        'Takes the amount off what the invoice asks for, at most its total less earlier credits (422). An invoice that payments and credits then cover is paid. For an invoice paid already the credit is owed back: refund it from the payment.',
      tags: ['invoices'],
      params: IdParams,
      body: NewCreditNote,
      responses: {
        201: { description: 'The credit note and the invoice it corrects', schema: z.object({ creditNote: CreditNoteSchema, invoice: InvoiceSchema }) },
      },
      errors: [404, 409, 422],
      access: 'admin',
      permission: 'revenue:manage',
    },
    idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger }),
    async (req, res) => {
      res.status(201).json(await issueCreditNote({ db: deps.db, afterClose }, adminOf(req), req.params.id, req.body));
    },
  );
  api.get(
    '/tenant-credit-notes',
    {
      operationId: 'listTenantCreditNotes',
      summary: 'Credit notes of every tenant, newest first, by tenant and invoice',
      tags: ['invoices'],
      query: TenantCreditNotesQuery,
      responses: { 200: { description: 'A page of credit notes', schema: CreditNotePage } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await creditNotes(deps.db, req.query));
    },
  );
  api.get(
    '/credit-notes',
    {
      operationId: 'listOwnCreditNotes',
      summary: "The platform's credit notes to this tenant, newest first",
      tags: ['invoices'],
      query: OwnCreditNotesQuery,
      responses: { 200: { description: 'A page of credit notes', schema: CreditNotePage } },
      access: 'user',
      permission: 'billing:read',
    },
    async (req, res) => {
      res.json(await creditNotes(deps.db, { ...req.query, tenantId: tenantOf(req) }));
    },
  );

  for (const status of ['void', 'uncollectible'] as const) {
    api.post(
      `/tenant-invoices/:id/${status}`,
      {
        operationId: status === 'void' ? 'voidInvoice' : 'markInvoiceUncollectible',
        summary:
          status === 'void'
            ? 'Void an invoice nothing was paid of (it keeps its number; dunning stops counting it)'
            : 'Write off what is left of an invoice (a later payment still settles it; dunning stops counting it)',
        tags: ['invoices'],
        params: IdParams,
        body: CloseInvoiceBody,
        responses: { 200: { description: 'The invoice', schema: InvoiceSchema } },
        errors: [404, 409],
        access: 'admin',
        permission: 'revenue:manage',
      },
      async (req, res) => {
        res.json(await closeInvoice({ db: deps.db, afterClose }, adminOf(req), req.params.id, { status, reason: req.body.reason }));
      },
    );
  }

  api.get(
    '/invoices/:id/document',
    {
      operationId: 'downloadOwnInvoice',
      summary: "One of the platform's invoices to this tenant, as PDF or HTML",
      tags: ['invoices'],
      params: IdParams,
      query: DocumentQuery,
      responses: { 200: { description: 'The invoice document', content: DocumentContent } },
      errors: [404],
      access: 'user',
      permission: 'billing:read',
    },
    async (req, res) => {
      sendDocument(res, await invoiceDocument(deps.db, deps.config.billing.invoiceIssuer, req.params.id, req.query.format, tenantOf(req)));
    },
  );

  api.get(
    '/tenant-invoices/:id/document',
    {
      operationId: 'downloadTenantInvoice',
      summary: 'Any invoice, as PDF or HTML',
      tags: ['invoices'],
      params: IdParams,
      query: DocumentQuery,
      responses: { 200: { description: 'The invoice document', content: DocumentContent } },
      errors: [404],
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      sendDocument(res, await invoiceDocument(deps.db, deps.config.billing.invoiceIssuer, req.params.id, req.query.format));
    },
  );

  api.get(
    '/revenue',
    {
      operationId: 'getRevenue',
      summary: "The platform's revenue per month of issue and currency: billed, collected, refunded, outstanding, written off",
      tags: ['invoices'],
      query: RevenueQuery,
      responses: { 200: { description: 'Revenue per month', schema: RevenueSchema } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await revenue(deps.db, { from: req.query.from ? new Date(req.query.from) : undefined, to: req.query.to ? new Date(req.query.to) : undefined }));
    },
  );

  api.get(
    '/invoices',
    {
      operationId: 'listOwnInvoices',
      summary: "The platform's invoices to this tenant, newest period first",
      tags: ['invoices'],
      query: OwnInvoicesQuery,
      responses: { 200: { description: 'A page of invoices', schema: InvoicePage } },
      access: 'user',
      permission: 'billing:read',
    },
    async (req, res) => {
      res.json(await invoices(deps.db, { ...req.query, tenantId: tenantOf(req) }));
    },
  );

  api.get(
    '/invoices/:id',
    {
      operationId: 'getOwnInvoice',
      summary: "One of the platform's invoices to this tenant",
      tags: ['invoices'],
      params: IdParams,
      responses: { 200: { description: 'The invoice with its lines', schema: InvoiceSchema } },
      errors: [404],
      access: 'user',
      permission: 'billing:read',
    },
    async (req, res) => {
      res.json(await invoiceOf(deps.db, req.params.id, tenantOf(req)));
    },
  );

  api.get(
    '/invoices/:id/verify',
    {
      operationId: 'verifyInvoice',
      summary: 'Recompute an invoice from its usage events and plan versions, and compare totals',
      tags: ['invoices'],
      params: IdParams,
      responses: { 200: { description: 'Whether the stored total matches the recomputed one', schema: VerificationSchema } },
      errors: [404],
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await verifyInvoice(deps.db, req.params.id));
    },
  );

  api.get(
    '/tenant-invoices',
    {
      operationId: 'listTenantInvoices',
      summary: 'Invoices of every tenant, filtered by tenant and status, newest period first',
      tags: ['invoices'],
      query: TenantInvoicesQuery,
      responses: { 200: { description: 'A page of invoices', schema: InvoicePage } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await invoices(deps.db, req.query));
    },
  );

  api.get(
    '/tenant-invoices/:id',
    {
      operationId: 'getTenantInvoice',
      summary: 'Any invoice of the platform',
      tags: ['invoices'],
      params: IdParams,
      responses: { 200: { description: 'The invoice with its lines', schema: InvoiceSchema } },
      errors: [404],
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await invoiceOf(deps.db, req.params.id));
    },
  );

  api.post(
    '/period-close',
    {
      operationId: 'closeBillingPeriods',
      summary: 'Invoice every ended period now (the job does this every five minutes); running it again invoices nothing twice',
      tags: ['invoices'],
      body: CloseBody,
      responses: { 200: { description: 'How many invoices were made', schema: z.object({ invoices: z.number().int() }) } },
      access: 'admin',
      permission: 'revenue:manage',
    },
    async (req, res) => {
      res.json(await closePeriods(deps.db, { tenantId: req.body.tenantId }));
    },
  );

  api.get(
    '/tenants/:id/settings',
    {
      operationId: 'getTenantBillingSettings',
      summary: 'How the platform bills a tenant: tax rate, payment terms, billing email',
      tags: ['invoices'],
      params: IdParams,
      responses: { 200: { description: 'The settings', schema: SettingsSchema } },
      errors: [404],
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await billingSettingsOf(deps.db, req.params.id));
    },
  );

  api.patch(
    '/tenants/:id/settings',
    {
      operationId: 'changeTenantBillingSettings',
      summary: 'Change how the platform bills a tenant; issued invoices keep their rate',
      tags: ['invoices'],
      params: IdParams,
      body: ChangeSettings,
      responses: { 200: { description: 'The settings now', schema: SettingsSchema } },
      errors: [404],
      access: 'admin',
      permission: 'revenue:manage',
    },
    async (req, res) => {
      res.json(await changeBillingSettings(deps.db, req.params.id, req.body));
    },
  );

  return api.router;
}
