import { recordAudit, withTransaction, type Logger, type Pool, type ServiceClient } from '@codex/shared';
import { z } from 'zod';
import {
  deleteDunning,
  listDunning,
  lockTenantDunning,
  overdueInvoices,
  saveDunning,
  trackedTenants,
  type DunningRecord,
  type DunningState,
  type OverdueInvoice,
} from '../db/dunning-repo';
import { takePayment, type PaymentDeps } from './payments';

export type { DunningState };

export interface DunningDeps {
  db: Pool;
  logger: Logger;
  payments: PaymentDeps;
  /** The admin service, which suspends and reactivates tenants. */
  admin: ServiceClient;
  /** Days after the due date on which a failed charge is tried again (DUNNING_RETRY_DAYS). */
  retryDays: number[];
  /** Days overdue before the tenant is suspended (DUNNING_GRACE_DAYS). */
  graceDays: number;
}

const DAY_MS = 86_400_000;

/** Tenants in dunning, longest overdue first. */
export const dunningPage = listDunning;

/** Whole days from `dueAt` to `now`. */
export const daysOverdue = (dueAt: Date, now: Date) => Math.floor((now.getTime() - dueAt.getTime()) / DAY_MS);

/**
 * Where a tenant stands when its oldest unpaid invoice fell due `days` whole
 * days ago (Kill Bill's overdue states): past due while charges are still
 * retried, in grace once the last retry has failed, suspended after the
 * grace period.
 */
export function dunningStateAfter(days: number, retryDays: readonly number[], graceDays: number): DunningState {
  if (days >= graceDays) return 'suspended';
  return days >= Math.max(0, ...retryDays) ? 'grace' : 'past_due';
}

/**
 * The dunning job: retries the charges that are due a retry, then brings
 * every tenant with an overdue invoice (or a dunning record) to the state
 * its oldest unpaid invoice calls for. Run it as often as you like.
 */
export async function runDunning(deps: DunningDeps, now = new Date(), tenantId?: string) {
  const retried = await retryCharges(deps, await overdueInvoices(deps.db, now, tenantId), now);
  const tenants = new Set([
    ...(await overdueInvoices(deps.db, now, tenantId)).map((invoice) => invoice.tenantId),
    ...(await trackedTenants(deps.db, tenantId)),
  ]);
  const states: Record<DunningState | 'clear', number> = { past_due: 0, grace: 0, suspended: 0, clear: 0 };
  for (const tenant of tenants) {
    try {
      states[await syncTenantDunning(deps, tenant, now)] += 1;
    } catch (err) {
      deps.logger.warn('dunning could not bring a tenant up to date; the next run tries again', { tenantId: tenant, reason: (err as Error).message });
    }
  }
  return { retried, ...states };
}

/** One automatic charge per invoice that has fewer than its retry days so far, with the tenant's saved payment method. */
async function retryCharges(deps: DunningDeps, overdue: OverdueInvoice[], now: Date): Promise<number> {
  let retried = 0;
  for (const invoice of overdue) {
    const retriesDue = deps.retryDays.filter((day) => day <= daysOverdue(invoice.dueAt, now)).length;
    if (!invoice.chargeable || invoice.paymentOpen || invoice.automaticAttempts >= retriesDue) continue;
    try {
      const payment = await takePayment(deps.payments, { adminId: null }, { invoiceId: invoice.invoiceId, provider: 'stripe' });
      retried += 1;
      deps.logger.info('dunning retried a charge', { tenantId: invoice.tenantId, invoiceId: invoice.invoiceId, paymentId: payment.id, status: payment.status });
    } catch (err) {
      deps.logger.warn('dunning could not retry a charge', { tenantId: invoice.tenantId, invoiceId: invoice.invoiceId, reason: (err as Error).message });
    }
  }
  return retried;
}

const HoldAnswer = z.object({ status: z.string(), suspendedFor: z.enum(['admin', 'unpaid']).nullable(), changed: z.boolean() });

/**
 * Brings one tenant to the dunning state its invoices call for, under a
 * per-tenant lock and from a fresh read, so a payment landing meanwhile is
 * never undone by a stale decision. Suspension and reactivation go through
 * the admin service (audited there) before they are recorded here; both are
 * idempotent, so a crash between the two is repaired by the next run.
 */
export async function syncTenantDunning(deps: DunningDeps, tenantId: string, now = new Date()): Promise<DunningState | 'clear'> {
  return withTransaction(deps.db, async (tx) => {
    const current = await lockTenantDunning(tx, tenantId);
    const oldest = (await overdueInvoices(tx, now, tenantId))[0];
    const next: DunningRecord | undefined = oldest && {
      tenantId,
      state: dunningStateAfter(daysOverdue(oldest.dueAt, now), deps.retryDays, deps.graceDays),
      invoiceId: oldest.invoiceId,
      overdueSince: oldest.dueAt,
      stateSince: now,
    };
    if (current?.state === next?.state && current?.invoiceId === next?.invoiceId) return next?.state ?? 'clear';
    // Every change but one that stays suspended tells the admin service: a release that is not needed
    // changes nothing there, and one that is needed (a suspension made, but not recorded, before a crash) is not missed.
    const holdNow = next?.state === 'suspended';
    if (!(holdNow && current?.state === 'suspended')) {
      await deps.admin.request({
        method: 'POST',
        path: `/internal/tenants/${tenantId}/billing-hold`,
        body: { hold: holdNow, invoiceId: next?.invoiceId ?? current?.invoiceId },
        answer: HoldAnswer,
      });
    }
    if (next) await saveDunning(tx, current?.state === next.state ? { ...next, stateSince: current.stateSince } : next);
    else await deleteDunning(tx, tenantId);
    await recordAudit(tx, {
      actorType: 'system',
      actorId: 'dunning',
      tenantId,
      action: 'billing.dunning_changed',
      targetType: 'invoice',
      targetId: next?.invoiceId ?? current?.invoiceId,
      details: { before: current?.state ?? 'clear', after: next?.state ?? 'clear' },
    });
    return next?.state ?? 'clear';
  });
}
