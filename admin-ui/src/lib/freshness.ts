/** Whether the dashboard's data may be shown as current (pure: unit-tested). */
export interface Freshness {
  /** The data is older than the refresh promises, or the last refresh failed. */
  stale: boolean;
  /** Why, for the banner. */
  reason: 'unreachable' | 'failing' | 'late' | null;
}

/** Two missed refreshes make data stale even without an error (a hung request, a sleeping tab). */
export function freshness(receivedAt: number | null, now: number, refreshMs: number, lastError: { code?: string } | null): Freshness {
  if (lastError) return { stale: true, reason: lastError.code === 'GATEWAY_UNREACHABLE' ? 'unreachable' : 'failing' };
  if (receivedAt !== null && now - receivedAt > refreshMs * 3) return { stale: true, reason: 'late' };
  return { stale: false, reason: null };
}
