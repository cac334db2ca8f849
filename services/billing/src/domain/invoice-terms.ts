import { periodAt, shareOf, type Period, type PlanVersion } from '@codex/shared';

/**
 * What a tenant's platform invoice for one period comes to: pure, so the
 * period close and the recompute check share every rule. Rules:
 * - billed in arrears at the period's end: the plan in force at the
 *   period's start, for the whole period, plus each change's proration in it;
 * - a change of interval ends the period at the change (a new period starts
 *   there): its line credits the unused rest of the old plan, and the new
 *   plan is billed by the periods that follow;
 * - usage counts the calls of the hours that start within the period
 *   (aggregates are hourly); overage is taken on the terms of the plan in
 *   force at the period's end, per started block beyond the included calls;
 * - tax is the tenant's rate of the subtotal, rounded half away from zero.
 */

export interface PlanChangeRecord {
  id: number;
  effectiveAt: Date;
  from: PlanVersion;
  to: PlanVersion;
  prorationMinor: number;
}

/** A tenant's plan history as billing reads it. */
export interface PlanTimeline {
  /** Where the tenant's first period starts. */
  firstStart: Date;
  current: PlanVersion;
  pending: PlanVersion | null;
  /** The end of the stored period: the pending plan takes over there. */
  storedPeriodEnd: Date;
  /** Oldest first. */
  changes: PlanChangeRecord[];
}

export interface InvoiceLine {
  kind: 'plan' | 'proration' | 'overage';
  description: string;
  quantity: number;
  unitAmountMinor: number;
  amountMinor: number;
  source: Record<string, unknown>;
}

export interface InvoiceTerms {
  period: Period;
  plan: PlanVersion;
  currency: string;
  lines: InvoiceLine[];
  subtotalMinor: number;
  taxRateBp: number;
  taxMinor: number;
  totalMinor: number;
}

const reanchors = (timeline: PlanTimeline) => timeline.changes.filter((c) => c.from.interval !== c.to.interval);

/** The plan in force at `at`: the first recorded change after it started from that plan, else the stored row. */
export function planAt(timeline: PlanTimeline, at: Date): PlanVersion {
  const next = timeline.changes.find((change) => change.effectiveAt > at);
  if (next) return next.from;
  if (timeline.pending && at >= timeline.storedPeriodEnd) return timeline.pending;
  return timeline.current;
}

/** The period that starts at `start` (the previous period's end, or the first start). */
export function periodFrom(timeline: PlanTimeline, start: Date): Period {
  const anchors = reanchors(timeline);
  const anchor = anchors.filter((c) => c.effectiveAt <= start).at(-1)?.effectiveAt ?? timeline.firstStart;
  let { end } = periodAt(anchor, planAt(timeline, start).interval, start);
  const cut = anchors.find((c) => c.effectiveAt > start && c.effectiveAt < end);
  if (cut) end = cut.effectiveAt;
  return { start, end };
}

/** Start of the hour holding `at`: usage of a period is its hours'. */
export const hourOf = (at: Date) => new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);

const day = (at: Date) => at.toISOString().slice(0, 10);

/** The invoice of `period`, given the API calls counted in its hours and the tenant's tax rate. */
export function invoiceTerms(timeline: PlanTimeline, period: Period, apiCalls: number, taxRateBp: number): InvoiceTerms {
  const plan = planAt(timeline, period.start);
  const lines: InvoiceLine[] = [
    {
      kind: 'plan',
      description: `${plan.code} (version ${plan.version}), ${day(period.start)} to ${day(period.end)}`,
      quantity: 1,
      unitAmountMinor: plan.amountMinor,
      amountMinor: plan.amountMinor,
      source: { plan: plan.code, version: plan.version },
    },
  ];
  for (const change of timeline.changes) {
    if (change.effectiveAt < period.start || change.effectiveAt >= period.end) continue;
    // A new interval: the new plan's first period is billed on its own, so only the credit belongs here.
    const amount = change.from.interval !== change.to.interval ? change.prorationMinor - change.to.amountMinor : change.prorationMinor;
    if (amount === 0) continue;
    lines.push({
      kind: 'proration',
      description: `${change.from.code} to ${change.to.code} on ${day(change.effectiveAt)}: ${amount < 0 ? 'unused time credited' : 'rest of the period'}`,
      quantity: 1,
      unitAmountMinor: amount,
      amountMinor: amount,
      source: { change: change.id },
    });
  }
  const closingPlan = planAt(timeline, new Date(period.end.getTime() - 1));
  if (closingPlan.overage) {
    const { includedApiCalls, unitAmountMinor, unitCalls } = closingPlan.overage;
    const blocks = Math.ceil(Math.max(0, apiCalls - includedApiCalls) / unitCalls);
    if (blocks > 0)
      lines.push({
        kind: 'overage',
        description: `${apiCalls - includedApiCalls} API calls beyond the ${includedApiCalls} included, in ${blocks} block(s) of ${unitCalls}`,
        quantity: blocks,
        unitAmountMinor,
        amountMinor: blocks * unitAmountMinor,
        source: { apiCalls, includedApiCalls, unitCalls, plan: closingPlan.code, version: closingPlan.version },
      });
  }
  const subtotalMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0);
  const taxMinor = shareOf(subtotalMinor, taxRateBp);
  return { period, plan, currency: plan.currency, lines, subtotalMinor, taxRateBp, taxMinor, totalMinor: subtotalMinor + taxMinor };
}
