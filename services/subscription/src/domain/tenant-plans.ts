import {
  AppError,
  ConflictError,
  ErrorCode,
  NotFoundError,
  addIntervals,
  bumpEntitlementsEpoch,
  findTenantPlan,
  planInForce,
  prorate,
  prorationOfChange,
  recordAudit,
  withTransaction,
  type Entitlements,
  type PlanVersion,
  type Pool,
  type TenantPoolCache,
} from '@codex/shared';
import { apiCallsIn, insertTenantPlanChange, saveTenantPlan, tenantStatus } from '../db/plans-repo';
import { tenantDataUsage, type TenantDataUsage } from '../db/tenant-usage-repo';
import { assertOpen, planByCode, planVersion } from './plans';

export interface PlanChangeRequest {
  plan: string;
  version?: number;
  force: boolean;
}

export interface PlanChangeResult {
  kind: 'upgrade' | 'downgrade' | 'migrate';
  effectiveAt: string;
  prorationMinor: number;
  currency: string;
}

const TENANT_NOT_FOUND = () => new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);

/** A month's worth of a price, to compare plans of different intervals. */
const monthly = (plan: PlanVersion) => (plan.interval === 'year' ? plan.amountMinor / 12 : plan.amountMinor);

/** What the tenant holds beyond a plan's limits: one entry per limit it is over. */
export function overLimits(plan: PlanVersion, usage: TenantDataUsage): Array<{ limit: string; max: number; current: number }> {
  const checks: Array<[string, number | null, number]> = [
    ['maxUsers', plan.limits.maxUsers, usage.users],
    ['maxClients', plan.limits.maxClients, usage.clients],
    ['storageBytes', plan.limits.storageBytes, usage.storageBytes],
  ];
  return checks.filter(([, max, current]) => max !== null && current > max).map(([limit, max, current]) => ({ limit, max: max!, current }));
}

/**
 * Moves a tenant to another plan (or another version of its own: a migrate).
 * An upgrade or migrate applies now, with the proration of the rest of the
 * period recorded for billing; a downgrade, or a change of currency from a
 * paid plan, waits for the period's end. A target the tenant's data exceeds is refused with 409
 * PLAN_USAGE_OVER_LIMIT listing what is over, unless forced.
 */
export async function changeTenantPlan(
  deps: { db: Pool; tenants: TenantPoolCache },
  adminId: string,
  tenantId: string,
  request: PlanChangeRequest,
  now = new Date(),
): Promise<PlanChangeResult> {
  const status = await tenantStatus(deps.db, tenantId);
  if (!status) throw TENANT_NOT_FOUND();
  if (status !== 'active' && status !== 'suspended') throw new ConflictError(`A ${status} tenant's plan cannot change`, undefined, ErrorCode.TENANT_NOT_READY);
  assertOpen(await planByCode(deps.db, request.plan));
  const target = await planVersion(deps.db, request.plan, request.version);
  const usage = await deps.tenants.withConnection(tenantId, (db) => tenantDataUsage(db));
  const over = overLimits(target, usage);
  if (over.length > 0 && !request.force)
    throw new AppError(ErrorCode.PLAN_USAGE_OVER_LIMIT, 409, `The tenant holds more than the plan ${target.code} allows`, { over });

  return withTransaction(deps.db, async (tx) => {
    const row = await findTenantPlan(tx, tenantId, true);
    if (!row) throw new ConflictError('This tenant has no plan yet', undefined, ErrorCode.TENANT_NOT_READY);
    // A change is always relative to the plan and period in force now (the stored period may have ended).
    const { plan: from, period } = planInForce(row, now);
    const kind = target.code === from.code ? 'migrate' : monthly(target) >= monthly(from) ? 'upgrade' : 'downgrade';
    let prorationMinor = 0;
    let effectiveAt = now;
    // A paid period in another currency cannot be credited against the new price: that change waits too.
    if (kind === 'downgrade' || (target.currency !== from.currency && from.amountMinor > 0)) {
      effectiveAt = period.end;
      await saveTenantPlan(tx, tenantId, { plan: from, anchorAt: row.anchorAt, period, pending: target });
    } else if (target.interval === from.interval) {
      prorationMinor = prorationOfChange(from.amountMinor, target.amountMinor, period, now);
      await saveTenantPlan(tx, tenantId, { plan: target, anchorAt: row.anchorAt, period, pending: null });
    } else {
      // A new interval starts a new period now; the unused rest of the old one is credited.
      prorationMinor = target.amountMinor - prorate(from.amountMinor, period, now);
      await saveTenantPlan(tx, tenantId, { plan: target, anchorAt: now, period: { start: now, end: addIntervals(now, target.interval, 1) }, pending: null });
    }
    await insertTenantPlanChange(tx, {
      tenantId,
      from,
      to: target,
      kind,
      effectiveAt,
      prorationMinor,
      forced: request.force && over.length > 0,
      actorId: adminId,
    });
    await recordAudit(tx, {
      actorType: 'admin',
      actorId: adminId,
      tenantId,
      action: 'tenant.plan_changed',
      targetType: 'tenant',
      targetId: tenantId,
      details: {
        before: { plan: from.code, version: from.version },
        after: { plan: target.code, version: target.version },
        kind,
        effectiveAt,
        prorationMinor,
        over,
      },
    });
    await bumpEntitlementsEpoch(tx);
    return { kind, effectiveAt: effectiveAt.toISOString(), prorationMinor, currency: target.currency };
  });
}

/** What a tenant app shows its users: the plan in force, its period, limits, usage so far and features on. */
export async function entitlementsOf(deps: { db: Pool; tenants: TenantPoolCache; entitlements: Entitlements }, tenantId: string, userId?: string) {
  await deps.entitlements.refresh();
  const [status, inForce] = await Promise.all([tenantStatus(deps.db, tenantId), deps.entitlements.of(tenantId)]);
  if (!status || !inForce) throw TENANT_NOT_FOUND();
  const [usage, apiCalls, plan, flags] = await Promise.all([
    deps.tenants.withConnection(tenantId, (db) => tenantDataUsage(db)),
    apiCallsIn(deps.db, tenantId, inForce.period.start),
    planByCode(deps.db, inForce.plan.code),
    deps.entitlements.flagsFor(tenantId, userId),
  ]);
  const features = [
    ...new Set([...inForce.plan.features.filter((f) => flags[f]?.enabled ?? true), ...Object.keys(flags).filter((f) => flags[f]!.enabled)]),
  ].sort();
  return {
    tenantId,
    status,
    plan: {
      code: plan.code,
      name: plan.name,
      version: inForce.plan.version,
      amountMinor: inForce.plan.amountMinor,
      currency: inForce.plan.currency,
      interval: inForce.plan.interval,
    },
    period: { start: inForce.period.start.toISOString(), end: inForce.period.end.toISOString() },
    limits: inForce.plan.limits,
    usage: { apiCalls, ...usage },
    features,
    pendingChange: inForce.pending && { plan: inForce.pending.code, version: inForce.pending.version, effectiveAt: inForce.period.end.toISOString() },
  };
}
