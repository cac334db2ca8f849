import { ago, dateTime, money, percent, rolloutShare, slugify } from '../src/lib/format';
import { freshness } from '../src/lib/freshness';

describe('console formatters', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');

  it.each([
    [now, 'just now'],
    [now - 1_400, 'just now'],
    [now - 12_000, '12 s ago'],
    [now - 60_000, '1 min ago'],
    [now - 3 * 3_600_000, '3 h ago'],
    [now - 4 * 86_400_000, '4 d ago'],
    // A clock a little ahead of the browser's is not "in the future".
    [now + 5_000, 'just now'],
  ])('ago(%p) is %p', (at, expected) => {
    expect(ago(at, now)).toBe(expected);
  });

  it('rounds uptime down, so 99.96% never shows as 100%', () => {
    expect(percent(99.96)).toBe('99.9%');
    expect(percent(100)).toBe('100%');
    expect(percent(0)).toBe('0.0%');
  });

  it('shows minor units in the currency’s own digits', () => {
    expect(money(4900, 'USD')).toBe('$49.00');
    expect(money(500, 'JPY')).toBe('¥500');
    expect(money(-250, 'EUR')).toBe('-€2.50');
  });

  it('formats times in UTC and a missing one as a dash', () => {
    expect(dateTime('2026-12-03T12:05:00Z')).toBe('Dec 3, 2026, 12:05 PM UTC');
    expect(dateTime(null)).toBe('—');
  });

  it('proposes a slug the API accepts from any name', () => {
    expect(slugify('  Acme Widgets, Inc. ')).toBe('acme-widgets-inc');
    expect(slugify('Café Ünïcode')).toBe('cafe-unicode');
    expect(slugify('x'.repeat(80))).toHaveLength(63);
  });

  it('states the share of tenants a rollout reaches', () => {
    expect(rolloutShare(25, 120)).toBe('25% — about 30 of 120 tenants');
    expect(rolloutShare(100, 1)).toBe('100% — about 1 of 1 tenant');
  });
});

describe('dashboard freshness', () => {
  it('is fresh right after a refresh and stale after three missed ones', () => {
    expect(freshness(1_000, 6_000, 5_000, null)).toEqual({ stale: false, reason: null });
    expect(freshness(1_000, 16_001, 5_000, null)).toEqual({ stale: true, reason: 'late' });
  });

  it('is stale as soon as a refresh fails, naming an unreachable gateway', () => {
    expect(freshness(1_000, 1_500, 5_000, { code: 'GATEWAY_UNREACHABLE' })).toEqual({ stale: true, reason: 'unreachable' });
    expect(freshness(1_000, 1_500, 5_000, { code: 'INTERNAL' })).toEqual({ stale: true, reason: 'failing' });
    expect(freshness(null, 1_500, 5_000, null)).toEqual({ stale: false, reason: null });
  });
});
