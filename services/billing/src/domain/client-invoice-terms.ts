import { periodAt, shareOf, type BillingInterval, type Period } from '@codex/shared';

/**
 * What a tenant's invoice to its client comes to, for one period of a
 * subscription: pure, so the rules are in one place. Rules:
 * - billed in advance: each paid period is invoiced when it starts, at the
 *   price and quantity in force at its start;
 * - a period is paid when it starts at or after the anchor (trial periods
 *   come before it), before any pause or cancellation, and before the end
 *   of a period the subscription cancels at;
 * - prorations of mid-period changes (recorded by the subscription service)
 *   are carried by the next invoice: every change before its period's start
 *   not carried by an earlier one;
 * - tax is the tenant's rate of the subtotal, rounded half away from zero.
 */

export interface SubscriptionToBill {
  id: string;
  clientId: string;
  status: 'trialing' | 'active' | 'paused' | 'canceled';
  priceId: string;
  quantity: number;
  interval: BillingInterval;
  anchorAt: Date;
  currentPeriodEnd: Date;
  cancelAtPeriodEnd: boolean;
  pausedAt: Date | null;
  canceledAt: Date | null;
}

export interface PriceToBill {
  id: string;
  productName: string;
  amountMinor: number;
  currency: string;
}

/** A recorded change of the subscription; `before` is its price and quantity before the change, when recorded. */
export interface SubscriptionChangeRecord {
  id: number;
  kind: string;
  occurredAt: Date;
  prorationMinor: number;
  before: { priceId: string; quantity: number } | null;
}

export interface ClientInvoiceLine {
  kind: 'subscription' | 'proration';
  description: string;
  quantity: number;
  unitAmountMinor: number;
  amountMinor: number;
  source: Record<string, unknown>;
}

export interface ClientInvoiceTerms {
  period: Period;
  currency: string;
  lines: ClientInvoiceLine[];
  subtotalMinor: number;
  taxRateBp: number;
  taxMinor: number;
  totalMinor: number;
  changesThrough: number;
}

function paidFrom(subscription: SubscriptionToBill, start: Date): boolean {
  if (start < subscription.anchorAt) return false;
  if (subscription.pausedAt && subscription.pausedAt <= start) return false;
  if (subscription.canceledAt && subscription.canceledAt <= start) return false;
  return !(subscription.cancelAtPeriodEnd && start >= subscription.currentPeriodEnd);
}

/** The next period to invoice (the first starting at or after `invoicedUntil`), when it has started by `now` and is paid. */
export function nextPeriodToInvoice(subscription: SubscriptionToBill, invoicedUntil: Date | null, now: Date): Period | undefined {
  const from = invoicedUntil && invoicedUntil > subscription.anchorAt ? invoicedUntil : subscription.anchorAt;
  let period = periodAt(subscription.anchorAt, subscription.interval, from);
  if (period.start < from) period = periodAt(subscription.anchorAt, subscription.interval, period.end);
  if (period.start > now || !paidFrom(subscription, period.start)) return undefined;
  return period;
}

/** The price and quantity in force at `at`: what the first later change replaced, else the subscription's own. */
export function termsAt(subscription: SubscriptionToBill, changes: SubscriptionChangeRecord[], at: Date): { priceId: string; quantity: number } {
  const later = changes.find((change) => change.occurredAt > at && change.before);
  return later?.before ?? { priceId: subscription.priceId, quantity: subscription.quantity };
}

const day = (at: Date) => at.toISOString().slice(0, 10);

/** The invoice of `period`; `changesThrough` is the last change an earlier invoice carried. */
export function clientInvoiceTerms(
  subscription: SubscriptionToBill,
  period: Period,
  prices: Map<string, PriceToBill>,
  changes: SubscriptionChangeRecord[],
  changesThrough: number,
  taxRateBp: number,
): ClientInvoiceTerms {
  const inForce = termsAt(subscription, changes, period.start);
  const price = prices.get(inForce.priceId);
  if (!price) throw new Error(`price ${inForce.priceId} of subscription ${subscription.id} is missing`);
  const lines: ClientInvoiceLine[] = [
    {
      kind: 'subscription',
      description: `${price.productName}, ${day(period.start)} to ${day(period.end)}`,
      quantity: inForce.quantity,
      unitAmountMinor: price.amountMinor,
      amountMinor: inForce.quantity * price.amountMinor,
      source: { priceId: price.id },
    },
  ];
  let carried = changesThrough;
  for (const change of changes) {
    if (change.id <= changesThrough || change.occurredAt >= period.start) continue;
    carried = Math.max(carried, change.id);
    if (change.prorationMinor === 0) continue;
    lines.push({
      kind: 'proration',
      description: `${change.kind.replace('_', ' ')} on ${day(change.occurredAt)}: ${change.prorationMinor < 0 ? 'unused time credited' : 'rest of the period'}`,
      quantity: 1,
      unitAmountMinor: change.prorationMinor,
      amountMinor: change.prorationMinor,
      source: { change: change.id },
    });
  }
  const subtotalMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0);
  const taxMinor = shareOf(subtotalMinor, taxRateBp);
  return { period, currency: price.currency, lines, subtotalMinor, taxRateBp, taxMinor, totalMinor: subtotalMinor + taxMinor, changesThrough: carried };
}
