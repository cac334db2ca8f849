import { addDays, addIntervals, periodAt, type BillingInterval } from '@codex/shared';
import type { SubscriptionState } from '../db/subscriptions-repo';

/** The actions a subscription takes, and the states each may start from. */
export const TRANSITIONS = {
  activate: ['trialing'],
  pause: ['trialing', 'active'],
  resume: ['paused'],
  cancel: ['trialing', 'active', 'paused'],
  change: ['trialing', 'active'],
} as const;

export type SubscriptionAction = keyof typeof TRANSITIONS;

/** A new subscription: trialing for `trialDays` (its periods anchored at the trial's end), else active from now. */
export function startSubscription(
  input: { clientId: string; priceId: string; quantity: number; trialDays: number; interval: BillingInterval },
  now: Date,
): SubscriptionState {
  const trialEnd = input.trialDays > 0 ? addDays(now, input.trialDays) : null;
  return {
    clientId: input.clientId,
    priceId: input.priceId,
    quantity: input.quantity,
    status: trialEnd ? 'trialing' : 'active',
    anchorAt: trialEnd ?? now,
    trialEnd,
    currentPeriodStart: now,
    currentPeriodEnd: trialEnd ?? addIntervals(now, input.interval, 1),
    cancelAtPeriodEnd: false,
    pausedAt: null,
    canceledAt: null,
  };
}

/**
 * The state at `now` of a subscription stored as `state`: a trial that has
 * ended is active; a period that has ended renews, or ends the subscription
 * when it was to cancel at the period's end. Pure, so reads need not write.
 */
export function subscriptionAt(state: SubscriptionState, interval: BillingInterval, now: Date): SubscriptionState {
  let next = state;
  if (next.status === 'trialing' && next.trialEnd && next.trialEnd <= now) {
    if (next.cancelAtPeriodEnd) return { ...next, status: 'canceled', canceledAt: next.trialEnd };
    next = { ...next, status: 'active', ...period(next.anchorAt, interval, next.trialEnd) };
  }
  if (next.status === 'active' && next.currentPeriodEnd <= now) {
    if (next.cancelAtPeriodEnd) return { ...next, status: 'canceled', canceledAt: next.currentPeriodEnd };
    next = { ...next, ...period(next.anchorAt, interval, now) };
  }
  return next;
}

const period = (anchor: Date, interval: BillingInterval, at: Date) => {
  const { start, end } = periodAt(anchor, interval, at);
  return { currentPeriodStart: start, currentPeriodEnd: end };
};

/** The trial ends now: the first paid period starts now and anchors the later ones. */
export const activated = (state: SubscriptionState, interval: BillingInterval, now: Date): SubscriptionState => ({
  ...state,
  status: 'active',
  trialEnd: now,
  anchorAt: now,
  currentPeriodStart: now,
  currentPeriodEnd: addIntervals(now, interval, 1),
});

export const paused = (state: SubscriptionState, now: Date): SubscriptionState => ({ ...state, status: 'paused', pausedAt: now });

/** Resumed within its period it carries on; after, a new period starts now. */
export function resumed(state: SubscriptionState, interval: BillingInterval, now: Date): SubscriptionState {
  const wasTrial = state.trialEnd !== null && state.trialEnd > now;
  const base = { ...state, status: wasTrial ? ('trialing' as const) : ('active' as const), pausedAt: null };
  if (state.currentPeriodEnd > now) return base;
  return { ...base, status: 'active', anchorAt: now, currentPeriodStart: now, currentPeriodEnd: addIntervals(now, interval, 1) };
}

export function canceled(state: SubscriptionState, atPeriodEnd: boolean, now: Date): SubscriptionState {
  if (atPeriodEnd && state.status !== 'paused') return { ...state, cancelAtPeriodEnd: true };
  return { ...state, status: 'canceled', canceledAt: now, cancelAtPeriodEnd: false };
}
