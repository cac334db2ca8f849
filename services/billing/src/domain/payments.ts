import {
  AppError,
  ConflictError,
  ErrorCode,
  NotFoundError,
  recordAudit,
  withTransaction,
  type Logger,
  type Pool,
  type Queryable,
  type SecretBox,
  UpstreamError,
} from '@codex/shared';
import {
  addToInvoicePaid,
  findPayment,
  findPaymentByRef,
  findProvider,
  insertPayment,
  insertRefund,
  listPayments,
  lockInvoice,
  noteWebhookEvent,
  refundedOrPending,
  saveProvider,
  setRefunded,
  lockPaymentRow,
  stalePendingPayments,
  stalePendingRefunds,
  succeededRefunds,
  tenantPaymentMethod,
  updatePaymentOutcome,
  updateRefund,
  type Payment,
  type PendingRefund,
} from '../db/payments-repo';
import {
  chargeOf,
  intentOutcome,
  manualProvider,
  movesForward,
  StripeProvider,
  verifiedStripeEvent,
  type ChargeOutcome,
  type IntentObject,
  type PaymentProvider,
} from './payment-providers';

export interface PaymentDeps {
  db: Pool;
  secrets: SecretBox;
  logger: Logger;
  /** Where the Stripe client sends requests (a stand-in in tests); Stripe's API when unset. */
  stripeApiBase?: string;
  stripeTimeoutMs: number;
  /** Called once an invoice is paid, after its transaction (dunning reviews the tenant); must not throw. */
  onSettled?: (tenantId: string) => Promise<void>;
}

const PAYMENT_NOT_FOUND = () => new NotFoundError('No such payment', ErrorCode.PAYMENT_NOT_FOUND);

/** The platform's Stripe account, opened from its sealed keys; 409 when none is set. */
async function stripeOf(deps: PaymentDeps): Promise<{ provider: StripeProvider; webhookSecret: string }> {
  const stored = await findProvider(deps.db, 'stripe');
  if (!stored) throw new ConflictError('No Stripe account is set up', undefined, ErrorCode.PAYMENT_PROVIDER_NOT_CONFIGURED);
  return {
    provider: new StripeProvider({ secretKey: deps.secrets.open(stored.secretKeySealed), apiBase: deps.stripeApiBase, timeoutMs: deps.stripeTimeoutMs }),
    webhookSecret: deps.secrets.open(stored.webhookSecretSealed),
  };
}

/** Sets the platform's Stripe keys, sealed; only their last four characters are ever shown. */
export async function configureStripe(db: Queryable, secrets: SecretBox, adminId: string, keys: { secretKey: string; webhookSecret: string }) {
  const keyHint = keys.secretKey.slice(-4);
  await saveProvider(db, 'stripe', { secretKey: secrets.seal(keys.secretKey), webhookSecret: secrets.seal(keys.webhookSecret), keyHint });
  await recordAudit(db, {
    actorType: 'admin',
    actorId: adminId,
    action: 'billing.provider_configured',
    targetType: 'payment_provider',
    targetId: 'stripe',
    details: { keyHint },
  });
  return stripeStatus(db);
}

export async function stripeStatus(db: Queryable) {
  const stored = await findProvider(db, 'stripe');
  return { provider: 'stripe' as const, configured: Boolean(stored), keyHint: stored?.keyHint ?? null, updatedAt: stored?.updatedAt ?? null };
}

/**
 * Applies what the provider says of a payment (its answer, a webhook, or a
 * reconciliation), in the caller's transaction with the payment locked: a
 * success is added to the invoice exactly once.
 */
async function applyOutcome(tx: Queryable, payment: Payment, outcome: ChargeOutcome): Promise<{ settledTenant?: string }> {
  if (!movesForward(payment.status, outcome.status)) return {};
  await updatePaymentOutcome(tx, payment.id, { status: outcome.status, providerRef: outcome.providerRef, failureReason: outcome.failureReason ?? null });
  if (outcome.status !== 'succeeded') return {};
  const invoice = await addToInvoicePaid(tx, payment.invoiceId, payment.amountMinor);
  return invoice.status === 'paid' ? { settledTenant: invoice.tenantId } : {};
}

async function settled(deps: PaymentDeps, result: { settledTenant?: string }): Promise<void> {
  if (result.settledTenant) await deps.onSettled?.(result.settledTenant);
}

export interface NewPayment {
  invoiceId: string;
  provider: 'manual' | 'stripe';
  amountMinor?: number;
  reference?: string;
  paymentMethod?: string;
}

/**
 * Takes a payment of an invoice. The payment row is written (and committed)
 * before the provider is asked, with at most one payment of an invoice under
 * way; the provider's idempotency key is the payment's id, so an answer lost
 * to a timeout or a crash is recovered by asking again (reconciliation), never
 * by charging again.
 */
export async function takePayment(deps: PaymentDeps, actor: { adminId: string | null }, input: NewPayment): Promise<Payment> {
  const stripe = input.provider === 'stripe' ? await stripeOf(deps) : undefined;
  const { payment, outcome } = await withTransaction(deps.db, async (tx) => {
    const invoice = await lockInvoice(tx, input.invoiceId);
    if (!invoice) throw new NotFoundError('No such invoice', ErrorCode.INVOICE_NOT_FOUND);
    if (invoice.status !== 'finalized' && invoice.status !== 'uncollectible')
      throw new ConflictError(`A ${invoice.status} invoice takes no payment`, { status: invoice.status }, ErrorCode.INVOICE_STATE);
    const outstanding = invoice.totalMinor - invoice.paidMinor - invoice.creditedMinor;
    const amountMinor = input.amountMinor ?? outstanding;
    if (amountMinor > outstanding)
      throw new AppError(ErrorCode.VALIDATION_FAILED, 422, `At most ${outstanding} is outstanding on this invoice`, [
        { path: 'body.amountMinor', message: `must be at most ${outstanding}` },
      ]);
    let method: { customer: string | null; paymentMethod: string } | undefined;
    if (input.provider === 'stripe') {
      const saved = await tenantPaymentMethod(tx, invoice.tenantId);
      const paymentMethod = input.paymentMethod ?? saved.paymentMethod;
      if (!paymentMethod)
        throw new AppError(ErrorCode.VALIDATION_FAILED, 422, 'The tenant has no saved payment method; name one', [
          { path: 'body.paymentMethod', message: 'required: the tenant has none saved' },
        ]);
      method = { customer: saved.customer, paymentMethod };
    }
    const payment = await insertPayment(tx, {
      invoiceId: invoice.id,
      tenantId: invoice.tenantId,
      provider: input.provider,
      amountMinor,
      currency: invoice.currency,
      reference: input.reference ?? null,
      paymentMethod: method?.paymentMethod ?? null,
      providerCustomer: method?.customer ?? null,
      actorId: actor.adminId,
    });
    if (!payment) throw new ConflictError('A payment of this invoice is under way', undefined, ErrorCode.PAYMENT_IN_PROGRESS);
    if (actor.adminId)
      await recordAudit(tx, {
        actorType: 'admin',
        actorId: actor.adminId,
        tenantId: invoice.tenantId,
        action: 'billing.payment_started',
        targetType: 'invoice',
        targetId: invoice.id,
        details: { paymentId: payment.id, provider: input.provider, amountMinor },
      });
    const outcome = input.provider === 'manual' ? await applyOutcome(tx, payment, await manualProvider.charge(chargeOf(payment))) : {};
    return { payment, outcome };
  });
  // After the commit: dunning reads the invoice as paid from its own connection.
  await settled(deps, outcome);
  if (stripe) await charge(deps, stripe.provider, payment);
  return (await findPayment(deps.db, payment.id))!;
}

/** Asks the provider and records its answer; an unknown outcome leaves the payment pending for reconciliation. */
async function charge(deps: PaymentDeps, provider: PaymentProvider, payment: Payment): Promise<void> {
  let outcome: ChargeOutcome;
  try {
    outcome = await provider.charge(chargeOf(payment));
  } catch (err) {
    deps.logger.warn('payment outcome unknown; reconciliation will ask the provider again', { paymentId: payment.id, reason: (err as Error).message });
    return;
  }
  const result = await withTransaction(deps.db, async (tx) => {
    const locked = (await findPayment(tx, payment.id, true))!;
    return applyOutcome(tx, locked, outcome);
  });
  await settled(deps, result);
}

/**
 * The reconciliation job: Stripe payments still pending after `olderThanSeconds`
 * (their process died, or the provider did not answer) are asked about again
 * with the same idempotency key, which answers with the first charge's outcome.
 */
export async function reconcilePayments(deps: PaymentDeps, olderThanSeconds = 30): Promise<{ reconciled: number; refunds: number }> {
  const stale = await stalePendingPayments(deps.db, olderThanSeconds);
  const refunds = await stalePendingRefunds(deps.db, olderThanSeconds);
  if (stale.length === 0 && refunds.length === 0) return { reconciled: 0, refunds: 0 };
  const { provider } = await stripeOf(deps);
  let reconciled = 0;
  for (const payment of stale) {
    await charge(deps, provider, payment);
    reconciled += 1;
  }
  const settledRefunds = await reconcileRefunds((fn) => withTransaction(deps.db, fn), provider, refunds, deps.logger);
  return { reconciled, refunds: settledRefunds };
}

export const REFUND_UNANSWERED = 'Stripe did not answer; the refund stays pending until reconciliation asks Stripe again';

/** Records the provider's answer to a refund (either ledger), the payment locked: its refunded total counts refunds that went through. */
export async function recordRefundOutcome(
  tx: Queryable,
  paymentId: string,
  refundId: string,
  outcome: Awaited<ReturnType<PaymentProvider['refund']>>,
): Promise<void> {
  await lockPaymentRow(tx, paymentId);
  await updateRefund(tx, refundId, outcome);
  await setRefunded(tx, paymentId, await succeededRefunds(tx, paymentId));
}

/**
 * Asks the provider again about refunds it did not answer, with the same
 * idempotency key (so Stripe answers with the first refund, never makes a
 * second), and records each answer; one still unanswered stays pending for
 * the next run. Serves both ledgers: `transaction` opens one on the right
 * database. Answers how many got an answer.
 */
export async function reconcileRefunds(
  transaction: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>,
  provider: PaymentProvider,
  pending: PendingRefund[],
  logger: Logger,
): Promise<number> {
  let answered = 0;
  for (const refund of pending) {
    let outcome: Awaited<ReturnType<PaymentProvider['refund']>>;
    try {
      outcome = await provider.refund({ refundId: refund.refundId, providerRef: refund.providerRef, amountMinor: refund.amountMinor });
    } catch (err) {
      logger.warn('refund outcome still unknown; the next reconciliation asks again', { refundId: refund.refundId, reason: (err as Error).message });
      continue;
    }
    await transaction((tx) => recordRefundOutcome(tx, refund.paymentId, refund.refundId, outcome));
    answered += 1;
  }
  return answered;
}

export async function paymentOf(db: Queryable, id: string): Promise<Payment> {
  const payment = await findPayment(db, id);
  if (!payment) throw PAYMENT_NOT_FOUND();
  return payment;
}

export const payments = listPayments;

/**
 * Refunds all or part of a succeeded payment, never more than is left of it
 * (refunds under way count). Asked of the provider with an idempotency key
 * made from the refund's id.
 */
export async function refundPayment(deps: PaymentDeps, adminId: string, paymentId: string, input: { amountMinor?: number; reason?: string }): Promise<Payment> {
  const { refundId, payment, amountMinor } = await withTransaction(deps.db, async (tx) => {
    const payment = await findPayment(tx, paymentId, true);
    if (!payment) throw PAYMENT_NOT_FOUND();
    if (payment.status !== 'succeeded')
      throw new ConflictError(`A ${payment.status} payment cannot be refunded`, { status: payment.status }, ErrorCode.CONFLICT);
    const left = payment.amountMinor - (await refundedOrPending(tx, payment.id));
    const amountMinor = input.amountMinor ?? left;
    if (amountMinor <= 0 || amountMinor > left)
      throw new AppError(ErrorCode.REFUND_EXCEEDS_PAYMENT, 422, `At most ${left} of this payment can be refunded`, [
        { path: 'body.amountMinor', message: `must be at most ${left}` },
      ]);
    const refundId = await insertRefund(tx, { paymentId: payment.id, amountMinor, reason: input.reason ?? null, actorId: adminId });
    await recordAudit(tx, {
      actorType: 'admin',
      actorId: adminId,
      tenantId: payment.tenantId,
      action: 'billing.refund_started',
      targetType: 'payment',
      targetId: payment.id,
      details: { refundId, amountMinor },
    });
    return { refundId, payment, amountMinor };
  });
  const provider = payment.provider === 'stripe' ? (await stripeOf(deps)).provider : manualProvider;
  let outcome: Awaited<ReturnType<PaymentProvider['refund']>>;
  try {
    outcome = await provider.refund({ refundId, providerRef: payment.providerRef ?? '', amountMinor });
  } catch (err) {
    // No answer: the refund stays pending (and counts against what is left) until reconciliation asks
    // Stripe again with its key, or Stripe's charge.refunded webhook reports the charge's refunded total.
    throw new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, 504, REFUND_UNANSWERED, err);
  }
  await withTransaction(deps.db, (tx) => recordRefundOutcome(tx, payment.id, refundId, outcome));
  if (outcome.status === 'failed')
    throw new UpstreamError(ErrorCode.UPSTREAM_ERROR, 502, `Stripe refused the refund: ${outcome.failureReason ?? 'no reason given'}`);
  return (await findPayment(deps.db, payment.id))!;
}

interface ChargeObject {
  payment_intent?: string | null;
  amount_refunded?: number;
  metadata?: { paymentId?: string };
}

/**
 * A Stripe webhook: the signature is checked on the raw body (a bad one, or
 * one older than 300 s, is 400 and changes nothing), each event is applied
 * once, and events may come in any order: payments only move forward, and
 * refunds are taken as the charge's refunded total, not as increments.
 */
export async function receiveStripeWebhook(deps: PaymentDeps, payload: Buffer, signature: string | undefined): Promise<{ received: true; duplicate: boolean }> {
  const { webhookSecret } = await stripeOf(deps);
  const event = verifiedStripeEvent(payload, signature, webhookSecret);
  const result = await withTransaction(deps.db, (tx) => applyStripeEvent(tx, event, { findByRef: findPaymentByRef, applyOutcome }));
  await settled(deps, result.applied ?? {});
  return { received: true, duplicate: result.duplicate };
}

/**
 * Applies one verified Stripe event to a ledger (the platform's, or a
 * tenant's own), in the caller's transaction: once per event id, payments
 * only moving forward, and refunds taken as the charge's refunded total
 * rather than as increments, so the order events come in does not matter.
 */
export async function applyStripeEvent<P extends { id: string }, R>(
  tx: Queryable,
  event: ReturnType<typeof verifiedStripeEvent>,
  ledger: {
    findByRef(tx: Queryable, providerRef: string, paymentId: string | undefined, lock: boolean): Promise<P | undefined>;
    applyOutcome(tx: Queryable, payment: P, outcome: ChargeOutcome): Promise<R>;
  },
): Promise<{ duplicate: boolean; applied?: R }> {
  if (!(await noteWebhookEvent(tx, 'stripe', event.id, event.type))) return { duplicate: true };
  const object = event.data.object as unknown as IntentObject & ChargeObject;
  const outcome = intentOutcome(event);
  if (outcome) {
    const payment = await ledger.findByRef(tx, object.id, object.metadata?.paymentId, true);
    return { duplicate: false, applied: payment && (await ledger.applyOutcome(tx, payment, outcome)) };
  }
  if (event.type === 'charge.refunded' && object.payment_intent) {
    const payment = await ledger.findByRef(tx, object.payment_intent, object.metadata?.paymentId, true);
    if (payment) await setRefunded(tx, payment.id, object.amount_refunded ?? 0);
  }
  return { duplicate: false };
}
