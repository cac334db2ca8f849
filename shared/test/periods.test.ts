import fc from 'fast-check';
import { addIntervals, periodAt, prorate, prorationOfChange } from '../src/plans/periods';

const utc = (text: string) => new Date(`${text}Z`);
const instant = fc.date({ min: utc('1990-01-01T00:00:00'), max: utc('2100-01-01T00:00:00'), noInvalidDate: true });

describe('billing periods', () => {
  it.each([
    ['2027-01-31T09:30:00', 'month', 1, '2027-02-28T09:30:00'],
    ['2028-01-31T09:30:00', 'month', 1, '2028-02-29T09:30:00'],
    ['2027-01-31T09:30:00', 'month', 2, '2027-03-31T09:30:00'],
    ['2027-01-31T09:30:00', 'month', 3, '2027-04-30T09:30:00'],
    ['2027-03-31T00:00:00', 'month', 1, '2027-04-30T00:00:00'],
    ['2027-12-15T00:00:00', 'month', 1, '2028-01-15T00:00:00'],
    ['2028-02-29T12:00:00', 'year', 1, '2029-02-28T12:00:00'],
    ['2028-02-29T12:00:00', 'year', 4, '2032-02-29T12:00:00'],
    ['2027-06-01T00:00:00', 'year', 1, '2028-06-01T00:00:00'],
  ] as const)('when %s is moved on by %s × %i, then it is %s (the anchor day, or the month’s last)', (anchor, interval, count, expected) => {
    expect(addIntervals(utc(anchor), interval, count).toISOString()).toBe(utc(expected).toISOString());
  });

  it('when a Jan 31 anchor renews, then its periods run Jan 31 → Feb 28 → Mar 31 → Apr 30, never drifting to the 28th', () => {
    const anchor = utc('2027-01-31T00:00:00');
    const ends = [1, 2, 3, 4].map((n) => addIntervals(anchor, 'month', n).toISOString().slice(0, 10));
    expect(ends).toEqual(['2027-02-28', '2027-03-31', '2027-04-30', '2027-05-31']);
    expect(periodAt(anchor, 'month', utc('2027-03-15T00:00:00'))).toEqual({ start: utc('2027-02-28T00:00:00'), end: utc('2027-03-31T00:00:00') });
  });

  it('when any instant after an anchor is asked for, then its period contains it, runs one interval, and periods tile without gaps', () => {
    fc.assert(
      fc.property(
        instant,
        fc.integer({ min: 0, max: 40 * 366 * 86_400_000 }),
        fc.constantFrom('month' as const, 'year' as const),
        (anchor, offset, interval) => {
          const at = new Date(anchor.getTime() + offset);
          const period = periodAt(anchor, interval, at);
          expect(period.start.getTime()).toBeLessThanOrEqual(at.getTime());
          expect(at.getTime()).toBeLessThan(period.end.getTime());
          // The next period starts where this one ends.
          expect(periodAt(anchor, interval, period.end).start.getTime()).toBe(period.end.getTime());
          const days = (period.end.getTime() - period.start.getTime()) / 86_400_000;
          if (interval === 'month') expect(days).toBeGreaterThanOrEqual(28);
          if (interval === 'month') expect(days).toBeLessThanOrEqual(31);
          if (interval === 'year') expect(days).toBeGreaterThanOrEqual(365);
          if (interval === 'year') expect(days).toBeLessThanOrEqual(366);
        },
      ),
    );
  });
});

describe('proration', () => {
  const january = { start: utc('2027-01-01T00:00:00'), end: utc('2027-02-01T00:00:00') };

  it.each([
    [3100, '2027-01-01T00:00:00', 3100],
    [3100, '2027-02-01T00:00:00', 0],
    [3100, '2027-01-17T00:00:00', 1500],
    [1000, '2027-01-16T12:00:00', 500],
    [999, '2027-01-16T12:00:00', 500],
    [1, '2027-01-16T12:00:00', 1],
    [3100, '2026-12-25T00:00:00', 3100],
  ])('when %i for January is prorated from %s, then %i is owed for the rest', (amount, from, expected) => {
    expect(prorate(amount, january, utc(from))).toBe(expected);
  });

  it('when a 10.00 plan becomes a 30.00 plan halfway through January, then 10.00 is owed (15.00 new minus 5.00 unused)', () => {
    expect(prorationOfChange(1000, 3000, january, utc('2027-01-16T12:00:00'))).toBe(1000);
    expect(prorationOfChange(3000, 1000, january, utc('2027-01-16T12:00:00'))).toBe(-1000);
  });

  it('when in a leap February a price is prorated, then the period has 29 days', () => {
    const february = periodAt(utc('2028-01-31T00:00:00'), 'month', utc('2028-02-10T00:00:00'));
    expect(february.end.toISOString().slice(0, 10)).toBe('2028-02-29');
    expect(prorate(2900, { start: utc('2028-02-01T00:00:00'), end: utc('2028-03-01T00:00:00') }, utc('2028-02-28T00:00:00'))).toBe(200);
  });

  it('when any amount is prorated at any instant, then it is a whole number between nothing and the whole, never rising as time passes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 12 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (amount, a, b) => {
          const span = january.end.getTime() - january.start.getTime();
          const [early, late] = [Math.min(a, b), Math.max(a, b)].map((share) => new Date(january.start.getTime() + Math.floor(share * span)));
          const owedEarly = prorate(amount, january, early!);
          const owedLate = prorate(amount, january, late!);
          expect(Number.isInteger(owedEarly)).toBe(true);
          expect(owedEarly).toBeGreaterThanOrEqual(owedLate);
          expect(owedEarly).toBeLessThanOrEqual(amount);
          expect(owedLate).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('when a price changes and changes back at the same instant, then the two prorations cancel exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.integer({ min: 0, max: 31 * 86_400_000 }),
        (from, to, offset) => {
          const at = new Date(january.start.getTime() + offset);
          expect(prorationOfChange(from, to, january, at) + prorationOfChange(to, from, january, at)).toBe(0);
        },
      ),
    );
  });
});
