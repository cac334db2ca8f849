import { AppError, ErrorCode } from '@codex/shared';
import Stripe from 'stripe';

export interface ChargeRequest {
  /** Our payment's id: the provider's idempotency key is made from it, so a retry never charges twice. */
  paymentId: string;
  amountMinor: number;
  currency: string;
  customer: string | null;
  paymentMethod: string;
  description: string;
}

export interface ChargeOutcome {
  status: 'succeeded' | 'processing' | 'failed';
  providerRef: string | null;
  failureReason?: string;
}

/** A payment as stored: what its charge is made from. */
export interface StoredCharge {
  id: string;
  invoiceId: string;
  amountMinor: number;
  currency: string;
  providerCustomer: string | null;
  paymentMethod: string | null;
}

/** The charge of a payment, made from the stored row alone, so a reconciliation repeats it exactly. */
export const chargeOf = (payment: StoredCharge): ChargeRequest => ({
  paymentId: payment.id,
  amountMinor: payment.amountMinor,
  currency: payment.currency,
  customer: payment.providerCustomer,
  paymentMethod: payment.paymentMethod ?? '',
  description: `Invoice ${payment.invoiceId}`,
});

type PaymentStatus = 'pending' | 'processing' | 'succeeded' | 'failed';
const RANK: Record<PaymentStatus, number> = { pending: 0, processing: 1, failed: 2, succeeded: 3 };

/**
 * Whether an outcome moves a payment on: outcomes may arrive in any order
 * (the answer, webhooks, a reconciliation), a payment only moves forward, and
 * `succeeded` is final. A failed one may still turn out to be processing.
 */
export const movesForward = (from: PaymentStatus, to: PaymentStatus) =>
  from !== 'succeeded' && (RANK[to] > RANK[from] || (from === 'failed' && to === 'processing'));

export interface RefundRequest {
  refundId: string;
  providerRef: string;
  amountMinor: number;
}

/**
 * A way to take money. A call that cannot tell how it ended (a timeout, a
 * lost connection) rejects, and the payment stays pending: reconciliation
 * asks again with the same idempotency key and gets the first answer.
 */
export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  refund(request: RefundRequest): Promise<{ status: 'succeeded' | 'pending' | 'failed'; providerRef: string | null; failureReason?: string }>;
}

export interface StripeSettings {
  secretKey: string;
  /** Another API host (a stand-in in tests, a proxy); Stripe's own when unset. */
  apiBase?: string;
  timeoutMs: number;
}

/** Stripe answered and refused the request (4xx): nothing happened. 409 and 429 say nothing of the outcome. */
function refused(err: unknown): err is InstanceType<typeof Stripe.errors.StripeError> {
  return (
    err instanceof Stripe.errors.StripeError &&
    err.statusCode !== undefined &&
    err.statusCode >= 400 &&
    err.statusCode < 500 &&
    ![409, 429].includes(err.statusCode)
  );
}

const INTENT_STATUS: Record<string, ChargeOutcome['status']> = { succeeded: 'succeeded', processing: 'processing' };

/** Stripe through its official client: PaymentIntents confirmed off-session with a saved payment method. */
export class StripeProvider implements PaymentProvider {
  private readonly stripe: Stripe;

  constructor(settings: StripeSettings) {
    const base = settings.apiBase ? new URL(settings.apiBase) : undefined;
    this.stripe = new Stripe(settings.secretKey, {
      // The client retries a request that timed out or lost its connection with the same idempotency key.
      maxNetworkRetries: 2,
      timeout: settings.timeoutMs,
      ...(base && {
        host: base.hostname,
        port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
        protocol: base.protocol.replace(':', '') as 'http' | 'https',
      }),
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount: request.amountMinor,
          currency: request.currency.toLowerCase(),
          payment_method: request.paymentMethod,
          ...(request.customer && { customer: request.customer }),
          confirm: true,
          off_session: true,
          description: request.description,
          metadata: { paymentId: request.paymentId },
        },
        { idempotencyKey: `payment-${request.paymentId}` },
      );
      const status = INTENT_STATUS[intent.status] ?? 'failed';
      return { status, providerRef: intent.id, ...(status === 'failed' && { failureReason: `payment intent ${intent.status}` }) };
    } catch (err) {
      // A decline, or any request Stripe refused, is an answer: the charge did not happen. Anything else
      // (no answer, 5xx, rate limit, idempotency conflict) leaves the outcome unknown.
      if (refused(err)) {
        const intent = (err.raw as { payment_intent?: { id?: string } } | undefined)?.payment_intent;
        return { status: 'failed', providerRef: intent?.id ?? null, failureReason: err.code ?? err.message };
      }
      throw err;
    }
  }

  async refund(request: RefundRequest) {
    try {
      const refund = await this.stripe.refunds.create(
        { payment_intent: request.providerRef, amount: request.amountMinor },
        { idempotencyKey: `refund-${request.refundId}` },
      );
      const status = refund.status === 'succeeded' ? 'succeeded' : refund.status === 'failed' || refund.status === 'canceled' ? 'failed' : 'pending';
      return { status, providerRef: refund.id } as const;
    } catch (err) {
      if (refused(err)) return { status: 'failed', providerRef: null, failureReason: err.code ?? err.message } as const;
      throw err;
    }
  }
}

/** Offline money (a bank transfer, a cheque): an admin records what arrived, so it has always succeeded. */
export const manualProvider: PaymentProvider = {
  async charge() {
    return { status: 'succeeded', providerRef: null };
  },
  async refund(request) {
    return { status: 'succeeded', providerRef: `manual-${request.refundId}` };
  },
};

/** A Stripe webhook older than this is refused (Stripe's own default tolerance). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Checks a Stripe webhook's signature on the raw body (and that it is at
 * most 300 s old) and parses it; 400 WEBHOOK_SIGNATURE_INVALID otherwise.
 */
export function verifiedStripeEvent(payload: Buffer, signature: string | undefined, secret: string): Stripe.Event {
  try {
    if (!signature) throw new Error('no Stripe-Signature header');
    return Stripe.webhooks.constructEvent(payload, signature, secret, WEBHOOK_TOLERANCE_SECONDS);
  } catch (err) {
    throw new AppError(ErrorCode.WEBHOOK_SIGNATURE_INVALID, 400, 'The webhook signature does not verify', [
      { path: 'headers.stripe-signature', message: (err as Error).message },
    ]);
  }
}

/** What a PaymentIntent object in a webhook carries that we read. */
export interface IntentObject {
  id: string;
  status?: string;
  metadata?: { paymentId?: string };
  last_payment_error?: { code?: string; message?: string } | null;
}

/** What a `payment_intent.*` event says of its charge; undefined for events that say nothing of the outcome. */
export function intentOutcome(event: Stripe.Event): ChargeOutcome | undefined {
  const object = event.data.object as unknown as IntentObject;
  const status: ChargeOutcome['status'] | undefined =
    event.type === 'payment_intent.succeeded'
      ? 'succeeded'
      : event.type === 'payment_intent.processing'
        ? 'processing'
        : event.type === 'payment_intent.payment_failed' || event.type === 'payment_intent.canceled'
          ? 'failed'
          : undefined;
  return status && { status, providerRef: object.id, failureReason: object.last_payment_error?.code ?? object.last_payment_error?.message };
}
