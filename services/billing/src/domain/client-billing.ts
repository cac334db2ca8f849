import { z } from 'zod';
import {
  addDays,
  AppError,
  ConflictError,
  ErrorCode,
  NotFoundError,
  UpstreamError,
  type Actor,
  type Logger,
  type Pool,
  type Queryable,
  type SecretBox,
  type ServiceClient,
  type TenantPoolCache,
} from '@codex/shared';
import {
  addToClientInvoicePaid,
  clientInvoicePaymentState,
  findClientBillingSettings,
  findClientInvoice,
  findClientPayment,
  findClientPaymentByRef,
  deleteClientHold,
  heldSubscriptions,
  overdueClientInvoices,
  saveClientHold,
  insertClientInvoice,
  insertClientPayment,
  lastChangesThrough,
  listClientInvoices,
  listClientPayments,
  lockSubscriptionToBill,
  pricesOf,
  saveClientBillingSettings,
  setClientInvoiceStatus,
  staleClientPayments,
  subscriptionChanges,
  subscriptionsToBill,
  takeClientInvoiceNumber,
  type ClientBillingSettings,
  type ClientInvoice,
  type ClientPayment,
} from '../db/client-billing-repo';
import { activeTenantIds, isActiveTenant } from '../db/invoices-repo';
import { insertRefund, refundedOrPending, stalePendingRefunds, updatePaymentOutcome } from '../db/payments-repo';
import { applyStripeEvent, reconcileRefunds, recordRefundOutcome, REFUND_UNANSWERED } from './payments';
import { clientInvoiceTerms, nextPeriodToInvoice } from './client-invoice-terms';
import { invoiceHtml, invoicePdf } from './invoice-document';
import { invoiceNumber } from './invoicing';
import { chargeOf, manualProvider, movesForward, StripeProvider, verifiedStripeEvent, type ChargeOutcome, type PaymentProvider } from './payment-providers';

/**
 * A tenant billing its own clients for their subscriptions: invoices and
 * payments in the tenant's own database, charged to the tenant's own Stripe
 * account (its keys sealed in that database) or recorded as manual payments.
 * Nothing here touches the platform's invoices, and the tenant comes only from
 * the caller's verified identity, so a tenant sees and charges only its own.
 */
export interface ClientBillingDeps {
  tenants: TenantPoolCache;
  secrets: SecretBox;
  logger: Logger;
  stripeApiBase?: string;
  stripeTimeoutMs: number;
  /** Dunning of clients' unpaid invoices: the same schedule as the platform's own. */
  dunning: { retryDays: number[]; graceDays: number; subscriptions: ServiceClient };
}

/** Periods one subscription may have invoiced per run (a close that has not run for long catches up over runs). */
const MAX_PERIODS_PER_RUN = 24;

const INVOICE_NOT_FOUND = () => new NotFoundError('No such invoice', ErrorCode.INVOICE_NOT_FOUND);
const PAYMENT_NOT_FOUND = () => new NotFoundError('No such payment', ErrorCode.PAYMENT_NOT_FOUND);

/**
 * Invoices the next started period of one subscription, in one transaction
 * with the subscription locked: the invoice, its number and its lines are
 * written together or not at all, and a period already invoiced is skipped,
 * so a close killed at any point and rerun invoices each period once.
 */
async function invoiceNextPeriod(deps: ClientBillingDeps, tenantId: string, subscriptionId: string, now: Date): Promise<boolean> {
  return deps.tenants.transaction(tenantId, async (tx) => {
    const locked = await lockSubscriptionToBill(tx, subscriptionId);
    if (!locked) return false;
    const period = nextPeriodToInvoice(locked.subscription, locked.invoicedUntil, now);
    if (!period) return false;
    const changes = await subscriptionChanges(tx, subscriptionId);
    const priceIds = new Set([locked.subscription.priceId, ...changes.flatMap((change) => (change.before ? [change.before.priceId] : []))]);
    const settings = await findClientBillingSettings(tx);
    const terms = clientInvoiceTerms(
      locked.subscription,
      period,
      await pricesOf(tx, [...priceIds]),
      changes,
      await lastChangesThrough(tx, subscriptionId),
      settings.taxRateBp,
    );
    const year = now.getUTCFullYear();
    const number = invoiceNumber(year, await takeClientInvoiceNumber(tx, year));
    const id = await insertClientInvoice(tx, {
      subscription: locked.subscription,
      number,
      terms,
      issuedAt: now,
      dueAt: addDays(now, settings.paymentTermsDays),
    });
    // A period invoiced already (the lock makes that impossible, but the unique period says so too) takes no number.
    if (!id) throw new ConflictError('The period is invoiced already');
    return true;
  });
}

/** Invoices every started, unbilled period of a tenant's subscriptions. Answers how many invoices were made. */
export async function closeClientPeriods(deps: ClientBillingDeps, tenantId: string, now = new Date()): Promise<{ invoices: number }> {
  let invoices = 0;
  const ids = await deps.tenants.withConnection(tenantId, (db) => subscriptionsToBill(db, now));
  for (const id of ids) {
    for (let n = 0; n < MAX_PERIODS_PER_RUN && (await invoiceNextPeriod(deps, tenantId, id, now)); n++) invoices += 1;
  }
  return { invoices };
}

/**
 * The job over every active tenant: invoices started periods and asks the
 * tenant's Stripe account again about payments left pending. One tenant's
 * failure is logged and does not stop the others.
 */
export async function runClientBilling(deps: ClientBillingDeps & { db: Pool; reconcileAfterSeconds: number }, now = new Date()) {
  let invoices = 0;
  let reconciled = 0;
  for (const tenantId of await activeTenantIds(deps.db)) {
    try {
      invoices += (await closeClientPeriods(deps, tenantId, now)).invoices;
      reconciled += (await reconcileClientPayments(deps, tenantId, deps.reconcileAfterSeconds)).reconciled;
      await runClientDunning(deps, tenantId, now);
    } catch (err) {
      deps.logger.warn('client billing of a tenant failed; the next run tries again', { err, tenantId });
    }
  }
  return { invoices, reconciled };
}

export const clientInvoices = (deps: ClientBillingDeps, actor: Actor, filter: Parameters<typeof listClientInvoices>[1]) =>
  deps.tenants.withConnection(actor.tenantId, (db) => listClientInvoices(db, filter));

export async function clientInvoice(deps: ClientBillingDeps, actor: Actor, id: string): Promise<ClientInvoice> {
  const invoice = await deps.tenants.withConnection(actor.tenantId, (db) => findClientInvoice(db, id));
  if (!invoice) throw INVOICE_NOT_FOUND();
  return invoice;
}

/** The invoice as PDF or HTML, issued in the tenant's name to the client. */
export async function clientInvoiceDocument(deps: ClientBillingDeps, actor: Actor, id: string, format: 'pdf' | 'html') {
  const { invoice, settings } = await deps.tenants.withConnection(actor.tenantId, async (db) => ({
    invoice: await findClientInvoice(db, id),
    settings: await findClientBillingSettings(db),
  }));
  if (!invoice) throw INVOICE_NOT_FOUND();
  const parties = {
    issuer: settings.issuerName || 'Issuer',
    customer: { name: `Client ${invoice.clientId}`, slug: `subscription ${invoice.subscriptionId}`, email: null },
  };
  const filename = `${invoice.number}.${format}`;
  return format === 'pdf'
    ? { contentType: 'application/pdf', filename, body: await invoicePdf(invoice, parties) }
    : { contentType: 'text/html; charset=utf-8', filename, body: invoiceHtml(invoice, parties) };
}

/** Voids an invoice nothing was paid of, or writes off what is left of one (as the platform's own invoices). */
export async function closeClientInvoice(deps: ClientBillingDeps, actor: Actor, id: string, status: 'void' | 'uncollectible'): Promise<ClientInvoice> {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    const invoice = await findClientInvoice(tx, id, true);
    if (!invoice) throw INVOICE_NOT_FOUND();
    const allowed = status === 'void' ? ['finalized', 'uncollectible'] : ['finalized'];
    if (!allowed.includes(invoice.status))
      throw new ConflictError(`A ${invoice.status} invoice cannot become ${status}`, { status: invoice.status }, ErrorCode.INVOICE_STATE);
    if (status === 'void') {
      const payments = await clientInvoicePaymentState(tx, id);
      if (payments.open || payments.succeeded || invoice.paidMinor > 0)
        throw new ConflictError('An invoice with payments cannot be voided; mark it uncollectible', { status: invoice.status }, ErrorCode.INVOICE_STATE);
    }
    await setClientInvoiceStatus(tx, id, status, new Date());
    return (await findClientInvoice(tx, id))!;
  });
}

/** What a tenant's billing settings show: the Stripe keys never, only whether they are set and their last four characters. */
export function publicSettings(settings: ClientBillingSettings) {
  return {
    issuerName: settings.issuerName,
    taxRateBp: settings.taxRateBp,
    paymentTermsDays: settings.paymentTermsDays,
    stripe: { configured: settings.stripe !== null, keyHint: settings.stripe?.keyHint ?? null },
    updatedAt: settings.updatedAt,
  };
}

export const clientBillingSettings = async (deps: ClientBillingDeps, actor: Actor) =>
  publicSettings(await deps.tenants.withConnection(actor.tenantId, findClientBillingSettings));

/** Changes how the tenant bills its clients; Stripe keys are sealed before they are stored, and `stripe: null` removes them. */
export async function changeClientBillingSettings(
  deps: ClientBillingDeps,
  actor: Actor,
  changes: { issuerName?: string; taxRateBp?: number; paymentTermsDays?: number; stripe?: { secretKey: string; webhookSecret: string } | null },
) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    const current = await findClientBillingSettings(tx);
    const stripe =
      changes.stripe === undefined
        ? current.stripe
        : changes.stripe && {
            secretKeySealed: deps.secrets.seal(changes.stripe.secretKey),
            webhookSecretSealed: deps.secrets.seal(changes.stripe.webhookSecret),
            keyHint: changes.stripe.secretKey.slice(-4),
          };
    await saveClientBillingSettings(tx, {
      issuerName: changes.issuerName ?? current.issuerName,
      taxRateBp: changes.taxRateBp ?? current.taxRateBp,
      paymentTermsDays: changes.paymentTermsDays ?? current.paymentTermsDays,
      stripe,
    });
    return publicSettings(await findClientBillingSettings(tx));
  });
}

/** The tenant's own Stripe account; 409 when the tenant has not set one up. */
async function tenantStripe(deps: ClientBillingDeps, db: Queryable): Promise<StripeProvider> {
  const { stripe } = await findClientBillingSettings(db);
  if (!stripe) throw new ConflictError('This tenant has no Stripe account set up', undefined, ErrorCode.PAYMENT_PROVIDER_NOT_CONFIGURED);
  return new StripeProvider({ secretKey: deps.secrets.open(stripe.secretKeySealed), apiBase: deps.stripeApiBase, timeoutMs: deps.stripeTimeoutMs });
}

/** Applies the provider's answer to a locked payment; a success is added to its invoice exactly once. */
async function applyClientOutcome(tx: Queryable, payment: ClientPayment, outcome: ChargeOutcome): Promise<void> {
  if (!movesForward(payment.status, outcome.status)) return;
  await updatePaymentOutcome(tx, payment.id, { status: outcome.status, providerRef: outcome.providerRef, failureReason: outcome.failureReason ?? null });
  if (outcome.status === 'succeeded') await addToClientInvoicePaid(tx, payment.invoiceId, payment.amountMinor);
}

/** Asks the provider and records its answer; an unknown outcome leaves the payment pending for reconciliation. */
async function chargeClientPayment(deps: ClientBillingDeps, tenantId: string, provider: PaymentProvider, payment: ClientPayment): Promise<void> {
  let outcome: ChargeOutcome;
  try {
    outcome = await provider.charge(chargeOf(payment));
  } catch (err) {
    deps.logger.warn('client payment outcome unknown; reconciliation will ask again', { tenantId, paymentId: payment.id, reason: (err as Error).message });
    return;
  }
  await deps.tenants.transaction(tenantId, async (tx) => applyClientOutcome(tx, (await findClientPayment(tx, payment.id, true))!, outcome));
}

export interface NewClientPayment {
  invoiceId: string;
  provider: 'manual' | 'stripe';
  amountMinor?: number;
  reference?: string;
  paymentMethod?: string;
  customer?: string;
}

/**
 * Takes a payment of a client's invoice, as the platform takes its own: the
 * pending row is committed before the tenant's Stripe account is asked, with
 * at most one payment of an invoice under way, and the provider's idempotency
 * key is the payment's id, so a lost answer is recovered by asking again.
 */
export function takeClientPayment(deps: ClientBillingDeps, actor: Actor, input: NewClientPayment): Promise<ClientPayment> {
  return startClientPayment(deps, actor.tenantId, actor.userId, input);
}

/** A payment by a tenant user (`actorId`) or by dunning (null). */
async function startClientPayment(deps: ClientBillingDeps, tenantId: string, actorId: string | null, input: NewClientPayment): Promise<ClientPayment> {
  const { payment, stripe } = await deps.tenants.transaction(tenantId, async (tx) => {
    const invoice = await findClientInvoice(tx, input.invoiceId, true);
    if (!invoice) throw INVOICE_NOT_FOUND();
    if (invoice.status !== 'finalized' && invoice.status !== 'uncollectible')
      throw new ConflictError(`A ${invoice.status} invoice takes no payment`, { status: invoice.status }, ErrorCode.INVOICE_STATE);
    const stripe = input.provider === 'stripe' ? await tenantStripe(deps, tx) : undefined;
    const outstanding = invoice.totalMinor - invoice.paidMinor;
    const amountMinor = input.amountMinor ?? outstanding;
    if (amountMinor > outstanding)
      throw new AppError(ErrorCode.VALIDATION_FAILED, 422, `At most ${outstanding} is outstanding on this invoice`, [
        { path: 'body.amountMinor', message: `must be at most ${outstanding}` },
      ]);
    if (stripe && !input.paymentMethod)
      throw new AppError(ErrorCode.VALIDATION_FAILED, 422, 'A Stripe payment names the payment method to charge', [
        { path: 'body.paymentMethod', message: 'required for a Stripe payment' },
      ]);
    const payment = await insertClientPayment(tx, {
      invoiceId: invoice.id,
      provider: input.provider,
      amountMinor,
      currency: invoice.currency,
      reference: input.reference ?? null,
      paymentMethod: input.paymentMethod ?? null,
      providerCustomer: input.customer ?? null,
      actorId,
    });
    if (!payment) throw new ConflictError('A payment of this invoice is under way', undefined, ErrorCode.PAYMENT_IN_PROGRESS);
    if (input.provider === 'manual') await applyClientOutcome(tx, payment, await manualProvider.charge(chargeOf(payment)));
    return { payment, stripe };
  });
  if (stripe) await chargeClientPayment(deps, tenantId, stripe, payment);
  return (await deps.tenants.withConnection(tenantId, (db) => findClientPayment(db, payment.id)))!;
}

/** Stripe payments of a tenant's clients left pending are asked about again with the same idempotency key. */
export async function reconcileClientPayments(
  deps: ClientBillingDeps,
  tenantId: string,
  olderThanSeconds: number,
): Promise<{ reconciled: number; refunds: number }> {
  const [stale, refunds] = await deps.tenants.withConnection(
    tenantId,
    async (db) => [await staleClientPayments(db, olderThanSeconds), await stalePendingRefunds(db, olderThanSeconds)] as const,
  );
  if (stale.length === 0 && refunds.length === 0) return { reconciled: 0, refunds: 0 };
  const provider = await deps.tenants.withConnection(tenantId, (db) => tenantStripe(deps, db));
  for (const payment of stale) await chargeClientPayment(deps, tenantId, provider, payment);
  const answered = await reconcileRefunds((fn) => deps.tenants.transaction(tenantId, fn), provider, refunds, deps.logger);
  return { reconciled: stale.length, refunds: answered };
}

export async function clientPayment(deps: ClientBillingDeps, actor: Actor, id: string): Promise<ClientPayment> {
  const payment = await deps.tenants.withConnection(actor.tenantId, (db) => findClientPayment(db, id));
  if (!payment) throw PAYMENT_NOT_FOUND();
  return payment;
}

export const clientPayments = (deps: ClientBillingDeps, actor: Actor, filter: Parameters<typeof listClientPayments>[1]) =>
  deps.tenants.withConnection(actor.tenantId, (db) => listClientPayments(db, filter));

/**
 * A webhook from a tenant's own Stripe account (its URL names the tenant):
 * the signature is checked with that tenant's webhook secret on the raw body,
 * each event is applied once, and in any order, as on the platform's account.
 */
export async function receiveClientStripeWebhook(
  deps: ClientBillingDeps & { db: Pool },
  tenantId: string,
  payload: Buffer,
  signature: string | undefined,
): Promise<{ received: true; duplicate: boolean }> {
  if (!(await isActiveTenant(deps.db, tenantId))) throw new NotFoundError('No such tenant', ErrorCode.TENANT_NOT_FOUND);
  const { stripe } = await deps.tenants.withConnection(tenantId, findClientBillingSettings);
  if (!stripe) throw new ConflictError('This tenant has no Stripe account set up', undefined, ErrorCode.PAYMENT_PROVIDER_NOT_CONFIGURED);
  const event = verifiedStripeEvent(payload, signature, deps.secrets.open(stripe.webhookSecretSealed));
  const result = await deps.tenants.transaction(tenantId, (tx) =>
    applyStripeEvent(tx, event, { findByRef: findClientPaymentByRef, applyOutcome: applyClientOutcome }),
  );
  return { received: true, duplicate: result.duplicate };
}

/**
 * Refunds all or part of a succeeded payment of a client's invoice, never
 * more than is left of it (refunds under way count), through the tenant's own
 * Stripe account with an idempotency key made from the refund's id. As on the
 * platform's account: no answer is 504 with the refund left pending; a refusal
 * is recorded failed and answered 502.
 */
export async function refundClientPayment(
  deps: ClientBillingDeps,
  actor: Actor,
  paymentId: string,
  input: { amountMinor?: number; reason?: string },
): Promise<ClientPayment> {
  const { refundId, payment, amountMinor, provider } = await deps.tenants.transaction(actor.tenantId, async (tx) => {
    const payment = await findClientPayment(tx, paymentId, true);
    if (!payment) throw PAYMENT_NOT_FOUND();
    if (payment.status !== 'succeeded')
      throw new ConflictError(`A ${payment.status} payment cannot be refunded`, { status: payment.status }, ErrorCode.CONFLICT);
    const left = payment.amountMinor - (await refundedOrPending(tx, payment.id));
    const amountMinor = input.amountMinor ?? left;
    if (amountMinor <= 0 || amountMinor > left)
      throw new AppError(ErrorCode.REFUND_EXCEEDS_PAYMENT, 422, `At most ${left} of this payment can be refunded`, [
        { path: 'body.amountMinor', message: `must be at most ${left}` },
      ]);
    const provider = payment.provider === 'stripe' ? await tenantStripe(deps, tx) : manualProvider;
    const refundId = await insertRefund(tx, { paymentId: payment.id, amountMinor, reason: input.reason ?? null, actorId: actor.userId });
    return { refundId, payment, amountMinor, provider };
  });
  let outcome: Awaited<ReturnType<PaymentProvider['refund']>>;
  try {
    outcome = await provider.refund({ refundId, providerRef: payment.providerRef ?? '', amountMinor });
  } catch (err) {
    throw new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, 504, REFUND_UNANSWERED, err);
  }
  await deps.tenants.transaction(actor.tenantId, (tx) => recordRefundOutcome(tx, payment.id, refundId, outcome));
  if (outcome.status === 'failed')
    throw new UpstreamError(ErrorCode.UPSTREAM_ERROR, 502, `Stripe refused the refund: ${outcome.failureReason ?? 'no reason given'}`);
  return (await deps.tenants.withConnection(actor.tenantId, (db) => findClientPayment(db, payment.id)))!;
}

const DAY_MS = 86_400_000;
const HoldAnswer = z.object({ status: z.string(), changed: z.boolean() });

/**
 * Dunning of a tenant's clients, as the platform's own of tenants: an overdue
 * invoice whose client paid by Stripe before is charged again with that
 * payment method on each of the retry days after its due date; one still
 * unpaid `graceDays` after its due date pauses its subscription (through the
 * subscription service), and a subscription dunning paused is resumed once
 * none of its invoices is overdue any more. Idempotent: run it as often as
 * you like.
 */
export async function runClientDunning(deps: ClientBillingDeps, tenantId: string, now = new Date()) {
  const { retryDays, graceDays, subscriptions } = deps.dunning;
  const [overdue, held] = await deps.tenants.withConnection(
    tenantId,
    async (db) => [await overdueClientInvoices(db, now), await heldSubscriptions(db)] as const,
  );
  let retried = 0;
  let paused = 0;
  let resumed = 0;
  const owing = new Set<string>();
  for (const invoice of overdue) {
    const retryDay = retryDays[invoice.automaticAttempts];
    if (invoice.lastMethod && !invoice.paymentOpen && retryDay !== undefined && now.getTime() >= invoice.dueAt.getTime() + retryDay * DAY_MS) {
      const payment = await startClientPayment(deps, tenantId, null, {
        invoiceId: invoice.invoiceId,
        provider: 'stripe',
        paymentMethod: invoice.lastMethod.paymentMethod,
        ...(invoice.lastMethod.customer && { customer: invoice.lastMethod.customer }),
      }).catch((err: unknown) => {
        deps.logger.warn('a dunning retry of a client invoice failed to start', { err, tenantId, invoiceId: invoice.invoiceId });
        return undefined;
      });
      if (payment) retried += 1;
      if (payment?.status === 'succeeded') continue;
    }
    owing.add(invoice.subscriptionId);
    if (held.has(invoice.subscriptionId) || now.getTime() < invoice.dueAt.getTime() + graceDays * DAY_MS) continue;
    await subscriptions.request({
      method: 'POST',
      path: `/internal/subscriptions/${invoice.subscriptionId}/billing-hold`,
      identity: { tenantId, roles: [] },
      body: { hold: true },
      answer: HoldAnswer,
    });
    await deps.tenants.withConnection(tenantId, (db) => saveClientHold(db, invoice.subscriptionId, invoice.invoiceId));
    held.set(invoice.subscriptionId, invoice.invoiceId);
    paused += 1;
  }
  for (const subscriptionId of held.keys()) {
    if (owing.has(subscriptionId)) continue;
    await subscriptions.request({
      method: 'POST',
      path: `/internal/subscriptions/${subscriptionId}/billing-hold`,
      identity: { tenantId, roles: [] },
      body: { hold: false },
      answer: HoldAnswer,
    });
    await deps.tenants.withConnection(tenantId, (db) => deleteClientHold(db, subscriptionId));
    resumed += 1;
  }
  return { retried, paused, resumed };
}
