import { clientInvoiceTerms, nextPeriodToInvoice, type SubscriptionToBill } from '../src/domain/client-invoice-terms';

const at = (iso: string) => new Date(iso);
const subscription = (changes: Partial<SubscriptionToBill> = {}): SubscriptionToBill => ({
  id: 's1',
  clientId: 'c1',
  status: 'active',
  priceId: 'p-new',
  quantity: 3,
  interval: 'month',
  anchorAt: at('2026-01-31T10:00:00Z'),
  currentPeriodEnd: at('2026-02-28T10:00:00Z'),
  cancelAtPeriodEnd: false,
  pausedAt: null,
  canceledAt: null,
  ...changes,
});
const prices = new Map([
  ['p-old', { id: 'p-old', productName: 'Basic', amountMinor: 1000, currency: 'EUR' }],
  ['p-new', { id: 'p-new', productName: 'Pro', amountMinor: 2500, currency: 'EUR' }],
]);

describe('client invoice terms', () => {
  it('when periods are anchored on Jan 31, then they run to the last day of shorter months and each starts where the last invoiced one ended', () => {
    const now = at('2026-06-01T00:00:00Z');
    expect(nextPeriodToInvoice(subscription(), null, now)).toEqual({ start: at('2026-01-31T10:00:00Z'), end: at('2026-02-28T10:00:00Z') });
    expect(nextPeriodToInvoice(subscription(), at('2026-02-28T10:00:00Z'), now)).toEqual({
      start: at('2026-02-28T10:00:00Z'),
      end: at('2026-03-31T10:00:00Z'),
    });
    // Billed in advance: a period is invoiced once it has started, not before.
    expect(nextPeriodToInvoice(subscription(), at('2026-05-31T10:00:00Z'), now)).toEqual({
      start: at('2026-05-31T10:00:00Z'),
      end: at('2026-06-30T10:00:00Z'),
    });
    expect(nextPeriodToInvoice(subscription(), at('2026-05-31T10:00:00Z'), at('2026-05-31T09:59:59Z'))).toBeUndefined();
  });

  it('when a subscription is in trial, paused, canceled or canceling at its period end, then periods from then on are not invoiced', () => {
    const now = at('2026-06-01T00:00:00Z');
    expect(nextPeriodToInvoice(subscription({ anchorAt: at('2026-07-01T00:00:00Z') }), null, now)).toBeUndefined();
    expect(nextPeriodToInvoice(subscription({ pausedAt: at('2026-03-01T00:00:00Z') }), at('2026-02-28T10:00:00Z'), now)).toBeDefined();
    expect(nextPeriodToInvoice(subscription({ pausedAt: at('2026-03-01T00:00:00Z') }), at('2026-03-31T10:00:00Z'), now)).toBeUndefined();
    expect(nextPeriodToInvoice(subscription({ canceledAt: at('2026-02-01T00:00:00Z') }), at('2026-02-28T10:00:00Z'), now)).toBeUndefined();
    expect(nextPeriodToInvoice(subscription({ cancelAtPeriodEnd: true }), at('2026-02-28T10:00:00Z'), now)).toBeUndefined();
  });

  it('when the price and quantity changed after a period started, then that period is billed at what was in force at its start, and earlier prorations ride on it', () => {
    const changes = [
      { id: 7, kind: 'price_changed', occurredAt: at('2026-02-10T00:00:00Z'), prorationMinor: 2143, before: { priceId: 'p-old', quantity: 1 } },
      { id: 8, kind: 'quantity_changed', occurredAt: at('2026-03-05T00:00:00Z'), prorationMinor: 4500, before: { priceId: 'p-new', quantity: 1 } },
    ];
    const february = clientInvoiceTerms(subscription(), { start: at('2026-01-31T10:00:00Z'), end: at('2026-02-28T10:00:00Z') }, prices, changes, 0, 1950);
    expect(february.lines).toEqual([expect.objectContaining({ kind: 'subscription', quantity: 1, unitAmountMinor: 1000, amountMinor: 1000 })]);
    expect(february.changesThrough).toBe(0);
    // 19.5 % of 1,000 is 195.
    expect(february).toMatchObject({ subtotalMinor: 1000, taxMinor: 195, totalMinor: 1195 });

    const march = clientInvoiceTerms(subscription(), { start: at('2026-02-28T10:00:00Z'), end: at('2026-03-31T10:00:00Z') }, prices, changes, 0, 1950);
    expect(march.lines).toEqual([
      expect.objectContaining({ kind: 'subscription', quantity: 1, unitAmountMinor: 2500, amountMinor: 2500 }),
      expect.objectContaining({ kind: 'proration', amountMinor: 2143, source: { change: 7 } }),
    ]);
    // 19.5 % of 4,643 is 905.385: rounded to 905.
    expect(march).toMatchObject({ subtotalMinor: 4643, taxMinor: 905, totalMinor: 5548, changesThrough: 7 });

    const april = clientInvoiceTerms(subscription(), { start: at('2026-03-31T10:00:00Z'), end: at('2026-04-30T10:00:00Z') }, prices, changes, 7, 1950);
    expect(april.lines.map((line) => [line.kind, line.amountMinor])).toEqual([
      ['subscription', 7500],
      ['proration', 4500],
    ]);
    expect(april.changesThrough).toBe(8);
  });
});
