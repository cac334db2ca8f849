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

/** Checks a Stripe webhook's signature on the raw body (and its age against `toleranceSeconds`) and parses it. */
export function verifyStripeEvent(payload: Buffer, signature: string, secret: string, toleranceSeconds: number): Stripe.Event {
  return Stripe.webhooks.constructEvent(payload, signature, secret, toleranceSeconds);
}
