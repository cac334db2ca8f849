import type { Queryable } from '../db/pool';
import { addIntervals, type BillingInterval } from './periods';
import type { Variant } from './rollout';

/** What a plan version allows; null means unlimited. */
export interface PlanLimits {
  requestsPerMinute: number | null;
  apiCallsPerMonth: number | null;
  maxUsers: number | null;
  maxClients: number | null;
  storageBytes: number | null;
}

/** Metered overage: calls beyond `includedApiCalls` in a period cost `unitAmountMinor` per started block of `unitCalls`. */
export interface PlanOverage {
  includedApiCalls: number;
  unitAmountMinor: number;
  unitCalls: number;
}

export interface PlanVersion {
  code: string;
  version: number;
  amountMinor: number;
  currency: string;
  interval: BillingInterval;
  trialDays: number;
  limits: PlanLimits;
  overage: PlanOverage | null;
  features: string[];
  createdAt: string;
}

/** A tenant's row in tenant_plans with the versions it names (the next one: pending, else the plan's latest). */
export interface TenantPlanRow {
  tenantId: string;
  anchorAt: Date;
  periodStart: Date;
  periodEnd: Date;
  current: PlanVersion;
  pending: PlanVersion | null;
  latest: PlanVersion;
}

export interface FeatureFlag {
  key: string;
  description: string;
  /** The kill switch: false turns the flag off for everyone. */
  enabled: boolean;
  defaultValue: boolean;
  planValues: Record<string, boolean>;
  tenantOverrides: Record<string, boolean>;
  rollout: { percentage: number; stickiness: 'tenant' | 'user' } | null;
  variants: Variant[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface PlanVersionRow {
  plan_code: string;
  version: number;
  amount_minor: string | number;
  currency: string;
  billing_interval: BillingInterval;
  trial_days: number;
  requests_per_minute: number | null;
  api_calls_per_month: string | number | null;
  max_users: number | null;
  max_clients: number | null;
  storage_bytes: string | number | null;
  included_api_calls?: string | number | null;
  overage_unit_amount_minor?: string | number | null;
  overage_unit_calls?: string | number | null;
  features: string[];
  created_at: string | Date;
}

const asNumber = (value: string | number | null) => (value === null ? null : Number(value));
const iso = (value: string | Date) => new Date(value).toISOString();

export function toPlanVersion(row: PlanVersionRow): PlanVersion {
  return {
    code: row.plan_code,
    version: row.version,
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    interval: row.billing_interval,
    trialDays: row.trial_days,
    limits: {
      requestsPerMinute: row.requests_per_minute,
      apiCallsPerMonth: asNumber(row.api_calls_per_month),
      maxUsers: row.max_users,
      maxClients: row.max_clients,
      storageBytes: asNumber(row.storage_bytes),
    },
    overage:
      row.included_api_calls == null
        ? null
        : {
            includedApiCalls: Number(row.included_api_calls),
            unitAmountMinor: Number(row.overage_unit_amount_minor),
            unitCalls: Number(row.overage_unit_calls),
          },
    features: row.features,
    createdAt: iso(row.created_at),
  };
}

/** The entitlements version every cache polls (one row). */
export async function entitlementsEpoch(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ version: string }>('SELECT version FROM entitlements_epoch');
  return rows[0]?.version ?? '0';
}

/** Call in the transaction of any change to plans, tenant plans or flags: caches drop what they hold. */
export async function bumpEntitlementsEpoch(db: Queryable): Promise<void> {
  await db.query('UPDATE entitlements_epoch SET version = version + 1');
}

export async function findPlanVersion(db: Queryable, code: string, version?: number): Promise<PlanVersion | undefined> {
  const { rows } = await db.query<PlanVersionRow>(
    `SELECT v.* FROM plan_versions v JOIN plans p ON p.code = v.plan_code
      WHERE v.plan_code = $1 AND v.version = coalesce($2, p.latest_version)`,
    [code, version ?? null],
  );
  return rows[0] && toPlanVersion(rows[0]);
}

/** A tenant's plan row (locked for a change when asked), or undefined for a tenant with none (not provisioned yet). */
export async function findTenantPlan(db: Queryable, tenantId: string, lock = false): Promise<TenantPlanRow | undefined> {
  const { rows } = await db.query<{
    tenant_id: string;
    anchor_at: Date;
    period_start: Date;
    period_end: Date;
    current: PlanVersionRow;
    pending: PlanVersionRow | null;
    latest: PlanVersionRow;
  }>(
    `SELECT tp.tenant_id, tp.anchor_at, tp.period_start, tp.period_end,
            to_jsonb(cur) AS current, to_jsonb(pend) AS pending, to_jsonb(latest) AS latest
       FROM tenant_plans tp
       JOIN plan_versions cur ON cur.plan_code = tp.plan_code AND cur.version = tp.plan_version
       JOIN plans p ON p.code = tp.plan_code
       JOIN plan_versions latest ON latest.plan_code = p.code AND latest.version = p.latest_version
       LEFT JOIN plan_versions pend ON pend.plan_code = tp.pending_plan_code AND pend.version = tp.pending_plan_version
      WHERE tp.tenant_id = $1${lock ? ' FOR UPDATE OF tp' : ''}`,
    [tenantId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    tenantId: row.tenant_id,
    anchorAt: row.anchor_at,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    current: toPlanVersion(row.current),
    pending: row.pending && toPlanVersion(row.pending),
    latest: toPlanVersion(row.latest),
  };
}

/**
 * Puts a new tenant on the latest version of a plan, its first period
 * starting `at` (after the plan's trial, billing starts at the period's end).
 * Does nothing for a tenant that has a plan already (provisioning resumed).
 */
export async function startTenantPlan(db: Queryable, tenantId: string, code: string, at = new Date()): Promise<void> {
  const plan = await findPlanVersion(db, code);
  if (!plan) throw new Error(`plan ${code} does not exist`);
  await db.query(
    `INSERT INTO tenant_plans (tenant_id, plan_code, plan_version, anchor_at, period_start, period_end)
     VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (tenant_id) DO NOTHING`,
    [tenantId, plan.code, plan.version, at, addIntervals(at, plan.interval, 1)],
  );
  await bumpEntitlementsEpoch(db);
}

/** Whether a plan code names a plan that takes new tenants (exists, not archived). */
export async function planIsOpen(db: Queryable, code: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM plans WHERE code = $1 AND archived_at IS NULL', [code]);
  return rows.length > 0;
}

interface FlagRow {
  key: string;
  description: string;
  enabled: boolean;
  default_value: boolean;
  plan_values: Record<string, boolean>;
  tenant_overrides: Record<string, boolean>;
  rollout: FeatureFlag['rollout'];
  variants: Variant[];
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const toFeatureFlag = (row: FlagRow): FeatureFlag => ({
  key: row.key,
  description: row.description,
  enabled: row.enabled,
  defaultValue: row.default_value,
  planValues: row.plan_values,
  tenantOverrides: row.tenant_overrides,
  rollout: row.rollout,
  variants: row.variants,
  version: row.version,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export async function listFeatureFlags(db: Queryable): Promise<FeatureFlag[]> {
  const { rows } = await db.query<FlagRow>('SELECT * FROM feature_flags ORDER BY key');
  return rows.map(toFeatureFlag);
}
