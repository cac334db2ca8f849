import type { Entitlements } from '@codex/shared';
import { ANSWERS_SUSPENDED } from './authenticate';
import type { CallQuota } from './call-quota';

/**
 * The tenant's plan where it bites in the gateway: its API calls per period
 * are counted against the quota (429 QUOTA_EXCEEDED when used up), and its
 * requests per minute are answered for the per-key limit (applied next;
 * undefined without a plan in force). The plan comes from the shared
 * entitlements cache, so a change is in force within about a second on every
 * instance.
 */
export class PlanLimits {
  constructor(
    private readonly entitlements: Entitlements,
    private readonly quota: CallQuota,
  ) {}

  async apply(tenantId: string, method: string, template: string): Promise<number | null | undefined> {
    const inForce = await this.entitlements.of(tenantId);
    if (!inForce) return undefined;
    if (!ANSWERS_SUSPENDED.has(`${method} ${template}`)) this.quota.take(tenantId, inForce.period, inForce.plan.limits.apiCallsPerMonth);
    return inForce.plan.limits.requestsPerMinute;
  }
}

/**
 * The per-key limit for one window: the plan's requests per minute scaled to
 * the window; the platform's RATE_LIMIT_PER_KEY for a plan that sets none
 * (and for admin calls, which have no plan).
 */
export function perKeyLimit(planRequestsPerMinute: number | null | undefined, windowMs: number, fallback: number): number {
  if (planRequestsPerMinute === undefined || planRequestsPerMinute === null) return fallback;
  return Math.max(1, Math.ceil((planRequestsPerMinute * windowMs) / 60_000));
}
