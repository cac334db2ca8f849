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
