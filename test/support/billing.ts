import { randomBytes } from 'node:crypto';
import type { Pool } from '@codex/shared';

/** A plan version written directly (the subscription service's rules are tested on their own). */
export async function insertPlan(db: Pool, code: string, amountMinor: number, overage?: { included: number; unit: number; calls: number }): Promise<void> {
  await db.query(`INSERT INTO plans (code, name) VALUES ($1, $1)`, [code]);
  await db.query(
    `INSERT INTO plan_versions (plan_code, version, amount_minor, currency, billing_interval, included_api_calls, overage_unit_amount_minor, overage_unit_calls)
     VALUES ($1, 1, $2, 'USD', 'month', $3, $4, $5)`,
    [code, amountMinor, overage?.included ?? null, overage?.unit ?? null, overage?.calls ?? null],
  );
}

/** A tenant row (no database: billing reads only the master) on a plan anchored at `anchor`. */
export async function insertBillableTenant(db: Pool, planCode: string, anchor: Date, periodEnd: Date): Promise<string> {
  const { rows } = await db.query<{ id: string }>(`INSERT INTO tenants (slug, name, status, created_at) VALUES ($1, $1, 'active', $2) RETURNING id`, [
    `bill-${randomBytes(5).toString('hex')}`,
    anchor,
  ]);
  const id = rows[0]!.id;
  await db.query(`INSERT INTO tenant_plans (tenant_id, plan_code, plan_version, anchor_at, period_start, period_end) VALUES ($1, $2, 1, $3, $3, $4)`, [
    id,
    planCode,
    anchor,
    periodEnd,
  ]);
  return id;
}
