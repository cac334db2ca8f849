import type { Queryable } from '../db/pool';
import type { Logger } from '../logger';
import { Poller, Reloadable } from '../polling';
import { periodAt, type Period } from './periods';
import { entitlementsEpoch, findTenantPlan, listFeatureFlags, type FeatureFlag, type PlanVersion, type TenantPlanRow } from './plan-store';
import { inRollout, pickVariant } from './rollout';

/** A tenant's plan as in force: the version, its period, and a change waiting for the period's end. */
export interface PlanInForce {
  plan: PlanVersion;
  period: Period;
  pending: PlanVersion | null;
}

/** A tenant's plan as in force now: the version, its period, its limits and features. */
export interface TenantEntitlements extends PlanInForce {
  tenantId: string;
}

/**
 * The plan in force at `now`. Within the stored period, the stored version
 * (and the change waiting for its end); once it has ended, the pending change
 * if one waited, else the plan's latest version (subscribers move to a new
 * version at their next period), and the period that contains `now`. Pure: a
 * cache may hold the row past a period's end.
 */
export function planInForce(row: TenantPlanRow, now: Date): PlanInForce {
  if (now < row.periodEnd) return { plan: row.current, period: { start: row.periodStart, end: row.periodEnd }, pending: row.pending };
  const plan = row.pending ?? row.latest;
  return { plan, period: periodAt(row.anchorAt, plan.interval, now), pending: null };
}

export interface FlagContext {
  tenantId: string;
  planCode: string;
  planFeatures: readonly string[];
  userId?: string;
}

export interface FlagValue {
  enabled: boolean;
  variant?: string;
}

/**
 * One flag for one tenant (and user): the kill switch first, then the
 * tenant's override, then the plan (its value for the flag, or whether its
 * feature set names the flag), then the gradual rollout, then the default.
 */
export function evaluateFlag(flag: FeatureFlag, context: FlagContext): FlagValue {
  let enabled: boolean;
  if (!flag.enabled) enabled = false;
  else if (context.tenantId in flag.tenantOverrides) enabled = flag.tenantOverrides[context.tenantId]!;
  else if (context.planCode in flag.planValues) enabled = flag.planValues[context.planCode]!;
  else if (context.planFeatures.includes(flag.key)) enabled = true;
  else if (flag.rollout) enabled = inRollout(flag.key, stickyId(flag, context), flag.rollout.percentage);
  else enabled = flag.defaultValue;
  if (!enabled) return { enabled };
  const variant = pickVariant(flag.key, stickyId(flag, context), flag.variants);
  return variant === undefined ? { enabled } : { enabled, variant };
}

const flagContext = (entitlements: TenantEntitlements, userId?: string): FlagContext => ({
  tenantId: entitlements.tenantId,
  planCode: entitlements.plan.code,
  planFeatures: entitlements.plan.features,
  userId,
});

const stickyId = (flag: FeatureFlag, context: FlagContext) =>
  flag.rollout?.stickiness === 'user' && context.userId ? `${context.tenantId}:${context.userId}` : context.tenantId;

export interface EntitlementsOptions {
  /** How often the change counter is read; a change is in force within this (default 1 s). */
  pollMs?: number;
  logger?: Logger;
}

/**
 * Tenants' plans and the feature flags, cached in process and dropped when
 * the entitlements epoch changes. Every instance of every service polls that
 * one-row counter (default each second), so a plan or flag change is in force
 * everywhere within a second and a half, with or without Redis, and a missed
 * message cannot leave an instance stale (as a lost pub/sub message could).
 */
export class Entitlements {
  private readonly tenants = new Map<string, Promise<TenantPlanRow | undefined>>();
  private readonly flags: Reloadable<FeatureFlag[]>;
  private epoch?: string;
  private readonly poller: Poller;

  constructor(
    private readonly db: Queryable,
    options: EntitlementsOptions = {},
  ) {
    this.flags = new Reloadable(() => listFeatureFlags(db));
    this.poller = new Poller(() => this.refresh(), options.pollMs ?? 1_000, { logger: options.logger, message: 'entitlements poll failed' });
  }

  /** The tenant's plan in force now, or undefined for a tenant with no plan. */
  async of(tenantId: string, now = new Date()): Promise<TenantEntitlements | undefined> {
    this.poller.start();
    let row = this.tenants.get(tenantId);
    if (!row) {
      row = findTenantPlan(this.db, tenantId);
      this.tenants.set(tenantId, row);
      row.catch(() => this.tenants.delete(tenantId));
    }
    const found = await row;
    if (!found) return undefined;
    return { tenantId, ...planInForce(found, now) };
  }

  /** Every flag's value for a tenant (and one of its users), on the plan in force; none for a tenant with no plan. */
  async flagsFor(tenantId: string, userId?: string): Promise<Record<string, FlagValue>> {
    const inForce = await this.of(tenantId);
    if (!inForce) return {};
    const context = flagContext(inForce, userId);
    return Object.fromEntries((await this.allFlags()).map((flag) => [flag.key, evaluateFlag(flag, context)]));
  }

  /** Whether the tenant has a feature: by a flag of that key when there is one, else by its plan's feature set. */
  async hasFeature(tenantId: string, feature: string, userId?: string): Promise<boolean> {
    const entitlements = await this.of(tenantId);
    if (!entitlements) return false;
    const flag = (await this.allFlags()).find((f) => f.key === feature);
    return flag ? evaluateFlag(flag, flagContext(entitlements, userId)).enabled : entitlements.plan.features.includes(feature);
  }

  async allFlags(): Promise<FeatureFlag[]> {
    this.poller.start();
    return this.flags.get();
  }

  /** Reads the epoch now and drops everything when it moved (tests, and after a local change). */
  async refresh(): Promise<void> {
    const epoch = await entitlementsEpoch(this.db);
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.tenants.clear();
      this.flags.drop();
    }
  }

  close(): void {
    this.poller.stop();
  }
}
