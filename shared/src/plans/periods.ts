/**
 * Billing periods and proration: pure, exact, shared by the subscription and
 * billing services so a price computed in one is the price invoiced by the other.
 * Instants are UTC; money is integer minor units.
 */

export type BillingInterval = 'month' | 'year';
export const BILLING_INTERVALS: readonly BillingInterval[] = ['month', 'year'];

export interface Period {
  start: Date;
  end: Date;
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

/**
 * The anchor moved `count` intervals on, keeping its day of month where that
 * month has it and taking the month's last day where it does not: an anchor
 * of Jan 31 renews Feb 28 (29 in a leap year), Mar 31, Apr 30. Always counted
 * from the anchor, never from the previous period's end, so a short month does
 * not pull every later period's day back.
 */
export function addIntervals(anchor: Date, interval: BillingInterval, count: number): Date {
  const months = interval === 'year' ? count * 12 : count;
  const total = anchor.getUTCFullYear() * 12 + anchor.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  return new Date(Date.UTC(year, month, day, anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()));
}

/** The period of a subscription anchored at `anchor` that contains `at` (at ≥ anchor). */
export function periodAt(anchor: Date, interval: BillingInterval, at: Date): Period {
  if (at < anchor) return { start: anchor, end: addIntervals(anchor, interval, 1) };
  const monthsApart = (at.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (at.getUTCMonth() - anchor.getUTCMonth());
  let n = Math.max(0, Math.floor(monthsApart / (interval === 'year' ? 12 : 1)) - 1);
  while (addIntervals(anchor, interval, n + 1) <= at) n += 1;
  return { start: addIntervals(anchor, interval, n), end: addIntervals(anchor, interval, n + 1) };
}

/** `amount × numerator ÷ denominator`, rounded half away from zero, in exact integer arithmetic. */
function scale(amountMinor: number, numerator: number, denominator: number): number {
  const product = BigInt(amountMinor) * BigInt(numerator);
  const d = BigInt(denominator);
  const sign = product < 0n ? -1n : 1n;
  const magnitude = product * sign;
  const rounded = (magnitude * 2n + d) / (2n * d);
  return Number(rounded * sign);
}

/**
 * What the part of `period` from `from` to its end costs of a full-period
 * price, by the millisecond (a full period costs the whole price; from the
 * end, nothing).
 */
export function prorate(amountMinor: number, period: Period, from: Date): number {
  const total = period.end.getTime() - period.start.getTime();
  const at = Math.min(Math.max(from.getTime(), period.start.getTime()), period.end.getTime());
  return scale(amountMinor, period.end.getTime() - at, total);
}

/**
 * A change of price at `at` within `period`: the unused rest of the old price
 * is credited and the rest of the new one charged. Positive: the customer
 * owes this much; negative: a credit.
 */
export function prorationOfChange(oldAmountMinor: number, newAmountMinor: number, period: Period, at: Date): number {
  return prorate(newAmountMinor, period, at) - prorate(oldAmountMinor, period, at);
}

/** `basisPoints` of an amount (2000 bp is 20 %), rounded half away from zero: how tax is computed. */
export const shareOf = (amountMinor: number, basisPoints: number) => scale(amountMinor, basisPoints, 10_000);

/** Days after `from`, as an instant: trials are counted in whole days. */
export const addDays = (from: Date, days: number) => new Date(from.getTime() + days * 86_400_000);
