import { pageTotal, type Queryable } from '@codex/shared';

export type DunningState = 'past_due' | 'grace' | 'suspended';

export interface DunningRecord {
  tenantId: string;
  state: DunningState;
  invoiceId: string;
  overdueSince: Date;
  stateSince: Date;
}

/** A finalized invoice past its due date with something left to pay. */
export interface OverdueInvoice {
  invoiceId: string;
  tenantId: string;
  dueAt: Date;
  /** Charges the dunning job has made of it already (payments no admin started). */
  automaticAttempts: number;
  /** A payment of it is under way. */
  paymentOpen: boolean;
  /** The tenant has a saved Stripe payment method to charge. */
  chargeable: boolean;
}

/** Overdue invoices, oldest due first, of every tenant or of one. */
export async function overdueInvoices(db: Queryable, now: Date, tenantId?: string): Promise<OverdueInvoice[]> {
  const { rows } = await db.query<{
    id: string;
    tenant_id: string;
    due_at: Date;
    automatic_attempts: string;
    payment_open: boolean;
    chargeable: boolean;
  }>(
    `SELECT i.id, i.tenant_id, i.due_at,
            (SELECT count(*) FROM payments p WHERE p.invoice_id = i.id AND p.provider = 'stripe' AND p.actor_id IS NULL) AS automatic_attempts,
            EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.status IN ('pending', 'processing')) AS payment_open,
            coalesce(s.stripe_payment_method_id IS NOT NULL, false) AS chargeable
       FROM invoices i LEFT JOIN tenant_billing_settings s ON s.tenant_id = i.tenant_id
      WHERE i.status = 'finalized' AND i.due_at < $1 AND i.paid_minor + i.credited_minor < i.total_minor
        AND ($2::uuid IS NULL OR i.tenant_id = $2)
      ORDER BY i.due_at, i.id`,
    [now, tenantId ?? null],
  );
  return rows.map((row) => ({
    invoiceId: row.id,
    tenantId: row.tenant_id,
    dueAt: row.due_at,
    automaticAttempts: Number(row.automatic_attempts),
    paymentOpen: row.payment_open,
    chargeable: row.chargeable,
  }));
}

/** Tenants dunning has a record of. */
export async function trackedTenants(db: Queryable, tenantId?: string): Promise<string[]> {
  const { rows } = await db.query<{ tenant_id: string }>(`SELECT tenant_id FROM tenant_dunning WHERE ($1::uuid IS NULL OR tenant_id = $1)`, [tenantId ?? null]);
  return rows.map((row) => row.tenant_id);
}

/** Serialises dunning decisions about one tenant until the transaction ends (the row may not exist yet). */
export async function lockTenantDunning(tx: Queryable, tenantId: string): Promise<DunningRecord | undefined> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('dunning:' || $1::text, 0))`, [tenantId]);
  const { rows } = await tx.query<{ tenant_id: string; state: DunningState; invoice_id: string; overdue_since: Date; state_since: Date }>(
    `SELECT tenant_id, state, invoice_id, overdue_since, state_since FROM tenant_dunning WHERE tenant_id = $1`,
    [tenantId],
  );
  const row = rows[0];
  return row && { tenantId: row.tenant_id, state: row.state, invoiceId: row.invoice_id, overdueSince: row.overdue_since, stateSince: row.state_since };
}

export async function saveDunning(tx: Queryable, record: DunningRecord): Promise<void> {
  await tx.query(
    `INSERT INTO tenant_dunning (tenant_id, state, invoice_id, overdue_since, state_since) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id) DO UPDATE SET state = EXCLUDED.state, invoice_id = EXCLUDED.invoice_id,
       overdue_since = EXCLUDED.overdue_since, state_since = EXCLUDED.state_since`,
    [record.tenantId, record.state, record.invoiceId, record.overdueSince, record.stateSince],
  );
}

export async function deleteDunning(tx: Queryable, tenantId: string): Promise<void> {
  await tx.query(`DELETE FROM tenant_dunning WHERE tenant_id = $1`, [tenantId]);
}

/** Tenants in dunning, longest overdue first (the admin view of who is past due). */
export async function listDunning(db: Queryable, filter: { state?: DunningState; limit: number; offset: number }) {
  const { rows } = await db.query<{
    tenant_id: string;
    slug: string;
    state: DunningState;
    invoice_id: string;
    overdue_since: Date;
    state_since: Date;
    outstanding_minor: string;
    total_count: string;
  }>(
    `SELECT d.tenant_id, t.slug, d.state, d.invoice_id, d.overdue_since, d.state_since,
            (SELECT coalesce(sum(i.total_minor - i.paid_minor - i.credited_minor), 0) FROM invoices i
              WHERE i.tenant_id = d.tenant_id AND i.status = 'finalized') AS outstanding_minor,
            count(*) OVER () AS total_count
       FROM tenant_dunning d JOIN tenants t ON t.id = d.tenant_id
      WHERE ($1::text IS NULL OR d.state = $1)
      ORDER BY d.overdue_since, d.tenant_id
      LIMIT $2 OFFSET $3`,
    [filter.state ?? null, filter.limit, filter.offset],
  );
  const total = await pageTotal(db, rows, filter.offset, 'SELECT count(*) AS total_count FROM tenant_dunning WHERE ($1::text IS NULL OR state = $1)', [
    filter.state ?? null,
  ]);
  return {
    items: rows.map((row) => ({
      tenantId: row.tenant_id,
      tenantSlug: row.slug,
      state: row.state,
      invoiceId: row.invoice_id,
      overdueSince: row.overdue_since.toISOString(),
      stateSince: row.state_since.toISOString(),
      outstandingMinor: Number(row.outstanding_minor),
    })),
    total,
  };
}
