import type { Response } from 'express';
import { z } from 'zod';

/** Request pieces the billing service's route files share. */

export const AmountMinor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('In minor units of the invoice currency');

export const StripeKeys = z.strictObject({
  secretKey: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,200}$/, 'must be a Stripe secret or restricted key'),
  webhookSecret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{8,200}$/, 'must be a Stripe webhook signing secret'),
});

export const DocumentQuery = z.object({ format: z.enum(['pdf', 'html']).default('pdf') });
export const DocumentContent = {
  'application/pdf': z.string().meta({ format: 'binary' }),
  'text/html': z.string(),
};

/** Sends an invoice document as a download. */
export const sendDocument = (res: Response, document: { contentType: string; filename: string; body: string | Buffer }) => {
  res.type(document.contentType).attachment(document.filename).send(document.body);
};

export const PaymentStatus = z.enum(['pending', 'processing', 'succeeded', 'failed']);

/** A payment as both ledgers answer it (the platform's adds the tenant). */
export const PaymentFields = {
  id: z.uuid(),
  invoiceId: z.uuid(),
  provider: z.enum(['manual', 'stripe']),
  status: PaymentStatus,
  amountMinor: z.number().int(),
  currency: z.string(),
  refundedMinor: z.number().int(),
  providerRef: z.string().nullable().describe("The provider's id (a Stripe PaymentIntent)"),
  reference: z.string().nullable(),
  failureReason: z.string().nullable(),
  paymentMethod: z.string().nullable(),
  providerCustomer: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
};

export const PaymentMethodId = z.string().regex(/^pm_[A-Za-z0-9_]{1,200}$/);

/** What paying an invoice asks, on either ledger; `extra` adds a ledger's own fields. */
type PaymentBody = { provider: 'manual' | 'stripe'; reference?: string } & Record<string, unknown>;

/** What paying an invoice asks, on either ledger; `stripeOnly` adds a ledger's own Stripe fields. */
export function newPaymentSchema<E extends z.ZodRawShape>(stripeDescription: string, stripeOnly: E) {
  const body = (value: unknown) => value as PaymentBody;
  return z
    .strictObject({
      invoiceId: z.uuid(),
      provider: z.enum(['manual', 'stripe']).describe(`manual: record money that arrived offline; stripe: ${stripeDescription}`),
      amountMinor: AmountMinor.optional().describe('What is outstanding when left out'),
      reference: z.string().trim().min(1).max(200).optional().describe('A manual payment: the bank transfer id, cheque number'),
      ...stripeOnly,
    })
    .refine((value) => body(value).provider === 'manual' || body(value).reference === undefined, { path: ['reference'], message: 'only for a manual payment' })
    .refine((value) => body(value).provider === 'stripe' || Object.keys(stripeOnly).every((key) => body(value)[key] === undefined), {
      path: ['paymentMethod'],
      message: 'only for a Stripe payment',
    })
    .refine((value) => body(value).provider === 'stripe' || body(value).reference !== undefined, {
      path: ['reference'],
      message: 'a manual payment needs its reference',
    });
}

export const NewRefund = z.strictObject({
  amountMinor: AmountMinor.optional().describe('All that is left of the payment when left out'),
  reason: z.string().trim().min(1).max(500).optional(),
});
