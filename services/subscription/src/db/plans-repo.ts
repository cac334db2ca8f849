import { toPlanVersion, type PlanLimits, type PlanOverage, type PlanVersion, type Queryable } from '@codex/shared';

export interface Plan {
  code: string;
  name: string;
  public: boolean;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** The version new subscribers get. */
  latest: PlanVersion;
}

export interface PlanTerms {
  amountMinor: number;
  currency: string;
  interval: 'month' | 'year';
  trialDays: number;
  limits: PlanLimits;
  overage: PlanOverage | null;
  features: string[];
}

const PLAN_SELECT = `SELECT p.code, p.name, p.public, p.archived_at, p.created_at, p.updated_at, to_jsonb(v) AS latest
  FROM plans p JOIN plan_versions v ON v.plan_code = p.code AND v.version = p.latest_version`;

interface PlanRow {
  code: string;
  name: string;
  public: boolean;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
  latest: Parameters<typeof toPlanVersion>[0];
}

const toPlan = (row: PlanRow): Plan => ({
  code: row.code,
  name: row.name,
  public: row.public,
  archivedAt: row.archived_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  latest: toPlanVersion(row.latest),
});

export async function listPlans(db: Queryable, filter: { includeArchived: boolean; publicOnly: boolean }): Promise<Plan[]> {
  const { rows } = await db.query<PlanRow>(`${PLAN_SELECT} WHERE ($1 OR p.archived_at IS NULL) AND (NOT $2 OR p.public) ORDER BY v.amount_minor, p.code`, [
    filter.includeArchived,
    filter.publicOnly,
  ]);
  return rows.map(toPlan);
}

export async function findPlan(db: Queryable, code: string, lock = false): Promise<Plan | undefined> {
  const { rows } = await db.query<PlanRow>(`${PLAN_SELECT} WHERE p.code = $1${lock ? ' FOR UPDATE OF p' : ''}`, [code]);
  return rows[0] && toPlan(rows[0]);
}

/** Inserts a plan and its first version; false when the code is taken. */
export async function insertPlan(db: Queryable, plan: { code: string; name: string; public: boolean }, terms: PlanTerms): Promise<boolean> {
  const { rowCount } = await db.query('INSERT INTO plans (code, name, public) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING', [
    plan.code,
    plan.name,
    plan.public,
  ]);
  if (!rowCount) return false;
  await insertPlanVersion(db, plan.code, 1, terms);
  return true;
}

export async function insertPlanVersion(db: Queryable, code: string, version: number, terms: PlanTerms): Promise<void> {
  const { limits } = terms;
  await db.query(
    `INSERT INTO plan_versions (plan_code, version, amount_minor, currency, billing_interval, trial_days,
       requests_per_minute, api_calls_per_month, max_users, max_clients, storage_bytes, features,
       included_api_calls, overage_unit_amount_minor, overage_unit_calls)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [
      code,
      version,
      terms.amountMinor,
      terms.currency,
      terms.interval,
      terms.trialDays,
      limits.requestsPerMinute,
      limits.apiCallsPerMonth,
      limits.maxUsers,
      limits.maxClients,
      limits.storageBytes,
      terms.features,
      terms.overage?.includedApiCalls ?? null,
      terms.overage?.unitAmountMinor ?? null,
      terms.overage?.unitCalls ?? null,
    ],
  );
  await db.query('UPDATE plans SET latest_version = $2 WHERE code = $1', [code, version]);
}

export async function updatePlanDetails(db: Queryable, code: string, changes: { name?: string; public?: boolean; archived?: boolean }): Promise<void> {
  await db.query(
    `UPDATE plans SET name = coalesce($2, name), public = coalesce($3, public),
       archived_at = CASE WHEN $4::boolean IS NULL THEN archived_at WHEN $4 THEN coalesce(archived_at, now()) ELSE NULL END
     WHERE code = $1`,
    [code, changes.name ?? null, changes.public ?? null, changes.archived ?? null],
  );
}

/** A tenant's status, or undefined for an unknown tenant. */
export async function tenantStatus(db: Queryable, tenantId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>('SELECT status FROM tenants WHERE id = $1', [tenantId]);
  return rows[0]?.status;
}

/** Puts a tenant on a plan version for a period, with the change (if any) that waits for the period's end. */
export async function saveTenantPlan(
  db: Queryable,
  tenantId: string,
  plan: { plan: PlanVersion; anchorAt: Date; period: { start: Date; end: Date }; pending: PlanVersion | null },
): Promise<void> {
  await db.query(
    `UPDATE tenant_plans SET plan_code = $2, plan_version = $3, anchor_at = $4, period_start = $5, period_end = $6,
       pending_plan_code = $7, pending_plan_version = $8
     WHERE tenant_id = $1`,
    [tenantId, plan.plan.code, plan.plan.version, plan.anchorAt, plan.period.start, plan.period.end, plan.pending?.code ?? null, plan.pending?.version ?? null],
  );
}

export async function insertTenantPlanChange(
  db: Queryable,
  change: {
    tenantId: string;
    from: PlanVersion;
    to: PlanVersion;
    kind: 'upgrade' | 'downgrade' | 'migrate';
    effectiveAt: Date;
    prorationMinor: number;
    forced: boolean;
    actorId: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO tenant_plan_changes (tenant_id, from_code, from_version, to_code, to_version, kind, effective_at, proration_minor, currency, forced, actor_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      change.tenantId,
      change.from.code,
      change.from.version,
      change.to.code,
      change.to.version,
      change.kind,
      change.effectiveAt,
      change.prorationMinor,
      change.to.currency,
      change.forced,
      change.actorId,
    ],
  );
}

/** API calls the gateways counted for a tenant in the period starting at `periodStart`. */
export async function apiCallsIn(db: Queryable, tenantId: string, periodStart: Date): Promise<number> {
  const { rows } = await db.query<{ api_calls: string }>('SELECT api_calls FROM tenant_usage WHERE tenant_id = $1 AND period_start = $2', [
    tenantId,
    periodStart,
  ]);
  return Number(rows[0]?.api_calls ?? 0);
}
