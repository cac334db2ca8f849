import type { Entitlements } from '@codex/shared';
import type { RequestHandler } from 'express';
import { ANSWERS_SUSPENDED } from './authenticate';
import type { CallQuota } from './call-quota';

/**
 * The tenant's plan where it bites in the gateway: its requests per minute
 * become the per-key limit (applied next), and its API calls per period are
 * counted against the quota (429 QUOTA_EXCEEDED when used up). The plan comes
 * from the shared entitlements cache, so a change is in force within about a
 * second on every instance. Admin calls have no tenant and no plan.
 */
export function planLimits(entitlements: Entitlements, quota: CallQuota): RequestHandler {
  return async (req, res, next) => {
    const tenantId = req.identity?.tenantId;
    if (!tenantId) return next();
    const inForce = await entitlements.of(tenantId);
    if (!inForce) return next();
    res.locals.planRequestsPerMinute = inForce.plan.limits.requestsPerMinute;
    if (!ANSWERS_SUSPENDED.has(`${req.method} ${res.locals.routeTemplate}`)) quota.take(tenantId, inForce.period, inForce.plan.limits.apiCallsPerMonth);
    next();
  };
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
