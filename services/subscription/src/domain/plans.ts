import {
  AppError,
  ConflictError,
  ErrorCode,
  NotFoundError,
  bumpEntitlementsEpoch,
  findPlanVersion,
  recordAudit,
  withTransaction,
  type PlanLimits,
  type Pool,
} from '@codex/shared';
import { findPlan, insertPlan, insertPlanVersion, listPlans, updatePlanDetails, type Plan, type PlanTerms } from '../db/plans-repo';

export type { Plan, PlanTerms };

export interface NewPlan extends PlanTerms {
  code: string;
  name: string;
  public: boolean;
}

export interface PlanChanges extends Partial<Omit<PlanTerms, 'limits'>> {
  limits?: Partial<PlanLimits>;
  name?: string;
  public?: boolean;
  archived?: boolean;
}

const PLAN_NOT_FOUND = (code: string) => new NotFoundError(`No plan has the code ${JSON.stringify(code)}`, ErrorCode.PLAN_NOT_FOUND);

export const plans = (db: Pool, filter: { includeArchived: boolean; publicOnly: boolean }) => listPlans(db, filter);

export async function planByCode(db: Pool, code: string): Promise<Plan> {
  const plan = await findPlan(db, code);
  if (!plan) throw PLAN_NOT_FOUND(code);
  return plan;
}

/** One version of a plan (the latest when none is named), or 404 PLAN_NOT_FOUND. */
export async function planVersion(db: Pool, code: string, version?: number) {
  const found = await findPlanVersion(db, code, version);
  if (!found) throw new NotFoundError(`Plan ${code}${version ? ` version ${version}` : ''} does not exist`, ErrorCode.PLAN_NOT_FOUND);
  return found;
}

export async function createPlan(db: Pool, adminId: string, input: NewPlan): Promise<Plan> {
  return withTransaction(db, async (tx) => {
    const { code, name, public: isPublic, ...terms } = input;
    if (!(await insertPlan(tx, { code, name, public: isPublic }, terms)))
      throw new ConflictError(`A plan with the code ${JSON.stringify(code)} exists`, { field: 'code' }, ErrorCode.PLAN_EXISTS);
    const plan = (await findPlan(tx, code))!;
    await recordAudit(tx, { actorType: 'admin', actorId: adminId, action: 'plan.created', targetType: 'plan', targetId: code, details: { after: plan } });
    await bumpEntitlementsEpoch(tx);
    return plan;
  });
}

const TERMS: ReadonlyArray<keyof PlanTerms> = ['amountMinor', 'currency', 'interval', 'trialDays', 'limits', 'overage', 'features'];
const LIMIT_KEYS: ReadonlyArray<keyof PlanLimits> = ['requestsPerMinute', 'apiCallsPerMonth', 'maxUsers', 'maxClients', 'storageBytes'];

/**
 * Renames, publishes, archives or re-prices a plan. Any change of its terms
 * (price, interval, trial, limits, features) writes a new version, which new
 * subscribers get and existing ones move to at their next period; the
 * versions they are on never change.
 */
export async function changePlan(db: Pool, adminId: string, code: string, changes: PlanChanges): Promise<Plan> {
  return withTransaction(db, async (tx) => {
    const before = await findPlan(tx, code, true);
    if (!before) throw PLAN_NOT_FOUND(code);
    if (code === 'free' && changes.archived) throw new ConflictError('The default plan cannot be archived', { field: 'archived' });
    const latest = before.latest;
    const terms: PlanTerms = {
      amountMinor: changes.amountMinor ?? latest.amountMinor,
      currency: changes.currency ?? latest.currency,
      interval: changes.interval ?? latest.interval,
      trialDays: changes.trialDays ?? latest.trialDays,
      limits: { ...latest.limits, ...Object.fromEntries(Object.entries(changes.limits ?? {}).filter(([, v]) => v !== undefined)) },
      overage: changes.overage === undefined ? latest.overage : changes.overage,
      features: changes.features ?? latest.features,
    };
    const termsChanged = TERMS.some((key) =>
      key === 'limits'
        ? LIMIT_KEYS.some((limit) => terms.limits[limit] !== latest.limits[limit])
        : key === 'features'
          ? [...terms.features].sort().join() !== [...latest.features].sort().join()
          : key === 'overage'
            ? JSON.stringify(terms.overage) !== JSON.stringify(latest.overage)
            : terms[key] !== latest[key],
    );
    if (termsChanged) await insertPlanVersion(tx, code, latest.version + 1, terms);
    await updatePlanDetails(tx, code, changes);
    const after = (await findPlan(tx, code))!;
    await recordAudit(tx, { actorType: 'admin', actorId: adminId, action: 'plan.changed', targetType: 'plan', targetId: code, details: { before, after } });
    await bumpEntitlementsEpoch(tx);
    return after;
  });
}

export const assertOpen = (plan: Plan) => {
  if (plan.archivedAt) throw new AppError(ErrorCode.CONFLICT, 409, `The plan ${plan.code} is archived`, { field: 'plan' });
};
