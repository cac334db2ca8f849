/** Formatting for the console: pure functions, unit-tested (admin-ui/test/format.test.ts). */

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(from: Date | string | number, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(from).getTime()) / 1000));
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** Uptime and shares: one decimal below 100, never rounded up to 100 unless it is. */
export function percent(value: number): string {
  if (value >= 100) return '100%';
  return `${(Math.floor(value * 10) / 10).toFixed(1)}%`;
}

/** Amounts are kept in minor units (cents); shown in the currency's own format. */
export function money(minor: number, currency: string, locale = 'en-US'): string {
  const digits = new Intl.NumberFormat(locale, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(minor / 10 ** digits);
}

export function dateTime(value: string | null | undefined, locale = 'en-US'): string {
  if (!value) return '—';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(value)) + ' UTC';
}

/** A tenant slug from a name: what the create form proposes (the API still validates it). */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

/** How a rollout percentage lands on the tenants: "25% — about 30 of 120 tenants". */
export function rolloutShare(percentage: number, tenants: number): string {
  const share = Math.round((percentage / 100) * tenants);
  return `${percentage}% — about ${share} of ${tenants} tenant${tenants === 1 ? '' : 's'}`;
}
