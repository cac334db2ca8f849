import { activated, canceled, paused, resumed, startSubscription, subscriptionAt } from '../src/domain/subscription-lifecycle';

const at = (text: string) => new Date(`${text}Z`);
const day = 86_400_000;

describe('subscription lifecycle (pure)', () => {
  const start = at('2027-01-31T10:00:00');
  const trialing = startSubscription({ clientId: 'c', priceId: 'p', quantity: 1, trialDays: 14, interval: 'month' }, start);

  it('when a trial runs out, then the subscription is active from the trial end, its periods anchored there', () => {
    expect(trialing).toMatchObject({ status: 'trialing', currentPeriodEnd: at('2027-02-14T10:00:00') });
    const later = subscriptionAt(trialing, 'month', at('2027-02-20T00:00:00'));
    expect(later).toMatchObject({ status: 'active', currentPeriodStart: at('2027-02-14T10:00:00'), currentPeriodEnd: at('2027-03-14T10:00:00') });
  });

  it('when a Jan 31 subscription renews for months, then its periods end on the last day of short months and the 31st of long ones', () => {
    const active = activated(trialing, 'month', start);
    const ends = ['2027-02-15', '2027-03-15', '2027-04-15', '2028-02-15'].map((d) =>
      subscriptionAt(active, 'month', at(`${d}T00:00:00`))
        .currentPeriodEnd.toISOString()
        .slice(0, 10),
    );
    expect(ends).toEqual(['2027-02-28', '2027-03-31', '2027-04-30', '2028-02-29']);
  });

  it('when canceled at period end, then it stays active until the end and is canceled from then on', () => {
    const active = activated(trialing, 'month', start);
    const scheduled = canceled(active, true, at('2027-02-10T00:00:00'));
    expect(subscriptionAt(scheduled, 'month', at('2027-02-27T00:00:00')).status).toBe('active');
    expect(subscriptionAt(scheduled, 'month', at('2027-03-01T00:00:00'))).toMatchObject({ status: 'canceled', canceledAt: at('2027-02-28T10:00:00') });
  });

  it('when a trial is canceled at its end, then it never becomes active', () => {
    const scheduled = canceled(trialing, true, at('2027-02-01T00:00:00'));
    expect(subscriptionAt(scheduled, 'month', at('2027-02-20T00:00:00'))).toMatchObject({ status: 'canceled', canceledAt: at('2027-02-14T10:00:00') });
  });

  it('when resumed after its period ended while paused, then a new period starts at the resume', () => {
    const active = activated(trialing, 'month', start);
    const resumedAt = new Date(start.getTime() + 45 * day);
    const back = resumed(paused(active, new Date(start.getTime() + day)), 'month', resumedAt);
    expect(back).toMatchObject({ status: 'active', currentPeriodStart: resumedAt, anchorAt: resumedAt, pausedAt: null });
  });
});
