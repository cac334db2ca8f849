import { addDays, AppError, ConflictError, NotFoundError, ErrorCode, recordAudit, withTransaction, type Pool, type Queryable } from '@codex/shared';
import { addToInvoiceCredited, insertCreditNote, listCreditNotes, type CreditNote } from '../db/credit-notes-repo';
import {
  aggregatedApiCalls,
  billableTenants,
  finalizeInvoice,
  findBillingSettings,
  findInvoice,
  insertDraftInvoice,
  invoiceCustomer,
  invoicePaymentState,
  listInvoices,
  revenueByMonth,
  setInvoiceClosedStatus,
  lockTenantInvoicing,
  PLATFORM_ISSUER,
  rawApiCalls,
  saveBillingSettings,
  takeInvoiceNumber,
  type BillableTenant,
  type BillingSettings,
  type Invoice,
} from '../db/invoices-repo';
import { lockInvoice } from '../db/payments-repo';
import { invoiceHtml, invoicePdf } from './invoice-document';
import { hourOf, invoiceTerms, periodFrom } from './invoice-terms';

/** Periods one tenant may have closed per run (a tenant billing has not seen for years catches up over runs). */
const MAX_PERIODS_PER_RUN = 36;

export const invoiceNumber = (year: number, sequence: number) => `INV-${year}-${String(sequence).padStart(6, '0')}`;
export const creditNoteNumber = (year: number, sequence: number) => `CN-${year}-${String(sequence).padStart(6, '0')}`;
/** Credit notes are numbered in their own gapless series. */
const CREDIT_NOTE_ISSUER = `${PLATFORM_ISSUER}-credit-notes`;

const INVOICE_NOT_FOUND = () => new NotFoundError('No such invoice', ErrorCode.INVOICE_NOT_FOUND);

/**
 * Closes one ended period of a tenant: its invoice is computed, written,
 * numbered and finalized in one transaction under the tenant's invoicing
 * lock, and only when no invoice of that period exists. A close killed at
 * any point leaves each period invoiced completely or not at all, so a rerun
 * invoices each period exactly once; numbers have no gaps.
 */
async function closeNextPeriod(db: Pool, tenant: BillableTenant, now: Date): Promise<string | undefined> {
  return withTransaction(db, async (tx) => {
    const invoicedUntil = await lockTenantInvoicing(tx, tenant.tenantId);
    const period = periodFrom(tenant.timeline, invoicedUntil ?? tenant.timeline.firstStart);
    if (period.end > now) return undefined;
    const calls = await aggregatedApiCalls(tx, tenant.tenantId, hourOf(period.start), hourOf(period.end));
    const terms = invoiceTerms(tenant.timeline, period, calls, tenant.taxRateBp);
    const id = await insertDraftInvoice(tx, tenant.tenantId, terms);
    if (!id) return undefined;
    const sequence = await takeInvoiceNumber(tx, PLATFORM_ISSUER, now.getUTCFullYear());
    await finalizeInvoice(tx, id, invoiceNumber(now.getUTCFullYear(), sequence), now, addDays(now, tenant.paymentTermsDays), terms.totalMinor <= 0);
    return id;
  });
}

/** The period-close job: every tenant's ended periods get their invoices. Answers how many were made. */
export async function closePeriods(db: Pool, options: { now?: Date; tenantId?: string } = {}): Promise<{ invoices: number }> {
  const now = options.now ?? new Date();
  let invoices = 0;
  for (const tenant of await billableTenants(db, options.tenantId)) {
    for (let n = 0; n < MAX_PERIODS_PER_RUN; n++) {
      const id = await closeNextPeriod(db, tenant, now);
      if (!id) break;
      invoices += 1;
    }
  }
  return { invoices };
}

export interface Verification {
  invoiceId: string;
  matches: boolean;
  /** False when retention has dropped raw events of the period: the usage lines cannot be recounted. */
  recomputable: boolean;
  stored: { subtotalMinor: number; taxMinor: number; totalMinor: number; apiCalls: number | null };
  recomputed: { subtotalMinor: number; taxMinor: number; totalMinor: number; apiCalls: number } | null;
}

/**
 * Recomputes an invoice from the raw usage events of its period and the plan
 * versions and changes it was made from, and says whether the total matches.
 */
export async function verifyInvoice(db: Queryable, id: string): Promise<Verification> {
  const invoice = await findInvoice(db, id);
  if (!invoice) throw INVOICE_NOT_FOUND();
  const overage = invoice.lines.find((line) => line.kind === 'overage');
  const stored = {
    subtotalMinor: invoice.subtotalMinor,
    taxMinor: invoice.taxMinor,
    totalMinor: invoice.totalMinor,
    apiCalls: overage ? Number(overage.source.apiCalls) : null,
  };
  const [tenant] = await billableTenants(db, invoice.tenantId);
  const period = { start: new Date(invoice.periodStart), end: new Date(invoice.periodEnd) };
  const calls = await rawApiCalls(db, invoice.tenantId, hourOf(period.start), hourOf(period.end));
  if (!tenant || calls === undefined) return { invoiceId: id, matches: false, recomputable: false, stored, recomputed: null };
  const terms = invoiceTerms(tenant.timeline, period, calls, invoice.taxRateBp);
  const recomputed = { subtotalMinor: terms.subtotalMinor, taxMinor: terms.taxMinor, totalMinor: terms.totalMinor, apiCalls: calls };
  return {
    invoiceId: id,
    matches: terms.totalMinor === invoice.totalMinor && terms.subtotalMinor === invoice.subtotalMinor,
    recomputable: true,
    stored,
    recomputed,
  };
}

export async function invoiceOf(db: Queryable, id: string, tenantId?: string): Promise<Invoice> {
  const invoice = await findInvoice(db, id, tenantId);
  if (!invoice) throw INVOICE_NOT_FOUND();
  return invoice;
}

export const invoices = listInvoices;

export async function billingSettingsOf(db: Queryable, tenantId: string): Promise<BillingSettings> {
  const settings = await findBillingSettings(db, tenantId);
  if (!settings) throw new NotFoundError('No such tenant', ErrorCode.TENANT_NOT_FOUND);
  return settings;
}

/** Changes how the platform bills a tenant; invoices already issued keep their rate. */
export async function changeBillingSettings(db: Queryable, tenantId: string, changes: Partial<Omit<BillingSettings, 'tenantId'>>): Promise<BillingSettings> {
  const current = await billingSettingsOf(db, tenantId);
  const next = { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) };
  await saveBillingSettings(db, next);
  return next;
}

/**
 * Closes an invoice without payment, as Stripe does: `void` cancels one that
 * should not have been issued (nothing may have been paid of it, and it
 * keeps its number, so numbering stays gapless); `uncollectible` writes off
 * what is left of a finalized one (a later payment still settles it).
 * Either way it no longer counts as overdue, so `afterClose` lets dunning
 * look at the tenant again.
 */
export async function closeInvoice(
  deps: { db: Pool; afterClose?: (tenantId: string) => Promise<void> },
  adminId: string,
  id: string,
  change: { status: 'void' | 'uncollectible'; reason?: string },
): Promise<Invoice> {
  const tenantId = await withTransaction(deps.db, async (tx) => {
    const invoice = await lockInvoice(tx, id);
    if (!invoice) throw INVOICE_NOT_FOUND();
    const allowed = change.status === 'void' ? ['finalized', 'uncollectible'] : ['finalized'];
    if (!allowed.includes(invoice.status))
      throw new ConflictError(`A ${invoice.status} invoice cannot become ${change.status}`, { status: invoice.status }, ErrorCode.INVOICE_STATE);
    if (change.status === 'void') {
      const payments = await invoicePaymentState(tx, id);
      if (payments.open || payments.succeeded || invoice.paidMinor > 0)
        throw new ConflictError(
          'An invoice with payments cannot be voided; refund them, or mark it uncollectible',
          { status: invoice.status, paidMinor: invoice.paidMinor, paymentUnderWay: payments.open },
          ErrorCode.INVOICE_STATE,
        );
    }
    await setInvoiceClosedStatus(tx, id, change.status, new Date());
    await recordAudit(tx, {
      actorType: 'admin',
      actorId: adminId,
      tenantId: invoice.tenantId,
      action: change.status === 'void' ? 'billing.invoice_voided' : 'billing.invoice_uncollectible',
      targetType: 'invoice',
      targetId: id,
      details: { number: invoice.number, before: { status: invoice.status }, after: { status: change.status }, reason: change.reason ?? null },
    });
    return invoice.tenantId;
  });
  await deps.afterClose?.(tenantId);
  return invoiceOf(deps.db, id);
}

/** Revenue per month of issue and currency over [from, to); by default the twelve months up to now. */
export async function revenue(db: Queryable, window: { from?: Date; to?: Date }) {
  const to = window.to ?? new Date();
  const from = window.from ?? new Date(Date.UTC(to.getUTCFullYear() - 1, to.getUTCMonth(), to.getUTCDate()));
  return { from: from.toISOString(), to: to.toISOString(), items: await revenueByMonth(db, from, to) };
}

/** An invoice as a document to download: PDF or a self-contained HTML page. */
export async function invoiceDocument(db: Queryable, issuer: string, id: string, format: 'pdf' | 'html', tenantId?: string) {
  const invoice = await invoiceOf(db, id, tenantId);
  const parties = { issuer, customer: await invoiceCustomer(db, invoice.tenantId) };
  const filename = `${invoice.number ?? `draft-${invoice.id}`}.${format}`;
  return format === 'pdf'
    ? { contentType: 'application/pdf', filename, body: await invoicePdf(invoice, parties) }
    : { contentType: 'text/html; charset=utf-8', filename, body: invoiceHtml(invoice, parties) };
}

/**
 * Corrects a finalized invoice without changing it: a credit note, numbered
 * in its own gapless series, takes `amountMinor` off what the invoice asks for
 * (never more than its total less earlier credits). An invoice that payments
 * and credits then cover is paid, so dunning lets go of it. For an invoice
 * paid already, the credit is what the platform owes back: refund it from the
 * payment. Audited with the admin and the reason.
 */
export async function issueCreditNote(
  deps: { db: Pool; afterClose?: (tenantId: string) => Promise<void> },
  adminId: string,
  invoiceId: string,
  input: { amountMinor: number; reason: string },
  now = new Date(),
): Promise<{ creditNote: CreditNote; invoice: Invoice }> {
  const creditNote = await withTransaction(deps.db, async (tx) => {
    const invoice = await lockInvoice(tx, invoiceId);
    if (!invoice) throw INVOICE_NOT_FOUND();
    if (!['finalized', 'uncollectible', 'paid'].includes(invoice.status))
      throw new ConflictError(`A ${invoice.status} invoice takes no credit note`, { status: invoice.status }, ErrorCode.INVOICE_STATE);
    const creditable = invoice.totalMinor - invoice.creditedMinor;
    if (input.amountMinor > creditable)
      throw new AppError(ErrorCode.VALIDATION_FAILED, 422, `At most ${creditable} of this invoice can be credited`, [
        { path: 'body.amountMinor', message: `must be at most ${creditable}` },
      ]);
    const number = creditNoteNumber(now.getUTCFullYear(), await takeInvoiceNumber(tx, CREDIT_NOTE_ISSUER, now.getUTCFullYear()));
    const note = await insertCreditNote(tx, {
      invoiceId,
      tenantId: invoice.tenantId,
      number,
      currency: invoice.currency,
      amountMinor: input.amountMinor,
      reason: input.reason,
      actorId: adminId,
    });
    await addToInvoiceCredited(tx, invoiceId, input.amountMinor);
    await recordAudit(tx, {
      actorType: 'admin',
      actorId: adminId,
      tenantId: invoice.tenantId,
      action: 'billing.credit_note_issued',
      targetType: 'invoice',
      targetId: invoiceId,
      details: { creditNote: number, amountMinor: input.amountMinor, reason: input.reason },
    });
    return note;
  });
  await deps.afterClose?.(creditNote.tenantId);
  return { creditNote, invoice: await invoiceOf(deps.db, invoiceId) };
}

export const creditNotes = listCreditNotes;
