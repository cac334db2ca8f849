import { pageTotal, toPlanVersion, type Queryable } from '@codex/shared';
import type { InvoiceLine, InvoiceTerms, PlanTimeline } from '../domain/invoice-terms';

/** The issuer of the platform's own invoices (a tenant's invoices to its clients are numbered per tenant). */
export const PLATFORM_ISSUER = 'platform';

export interface BillableTenant {
  tenantId: string;
  timeline: PlanTimeline;
  /** The end of the last invoiced period, if any. */
  invoicedUntil: Date | null;
  taxRateBp: number;
  paymentTermsDays: number;
}

/** Every tenant with a plan that is active or suspended, with its plan history and where invoicing stands. */
export async function billableTenants(db: Queryable, tenantId?: string): Promise<BillableTenant[]> {
  const { rows } = await db.query<{
    tenant_id: string;
    created_at: Date;
    anchor_at: Date;
    period_end: Date;
    current: Parameters<typeof toPlanVersion>[0];
    pending: Parameters<typeof toPlanVersion>[0] | null;
    changes: Array<{
      id: number;
      effective_at: string;
      proration_minor: number;
      from: Parameters<typeof toPlanVersion>[0];
      to: Parameters<typeof toPlanVersion>[0];
    }>;
    invoiced_until: Date | null;
    tax_rate_bp: number | null;
    payment_terms_days: number | null;
  }>(
    `SELECT tp.tenant_id, t.created_at, tp.anchor_at, tp.period_end, to_jsonb(cur) AS current, to_jsonb(pen) AS pending,
            coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'effective_at', c.effective_at, 'proration_minor', c.proration_minor,
                                                          'from', to_jsonb(f), 'to', to_jsonb(tv)) ORDER BY c.effective_at, c.id)
                        FROM tenant_plan_changes c
                        JOIN plan_versions f ON f.plan_code = c.from_code AND f.version = c.from_version
                        JOIN plan_versions tv ON tv.plan_code = c.to_code AND tv.version = c.to_version
                       WHERE c.tenant_id = tp.tenant_id), '[]'::jsonb) AS changes,
            (SELECT max(i.period_end) FROM invoices i WHERE i.tenant_id = tp.tenant_id) AS invoiced_until,
            s.tax_rate_bp, s.payment_terms_days
       FROM tenant_plans tp
       JOIN tenants t ON t.id = tp.tenant_id
       JOIN plan_versions cur ON cur.plan_code = tp.plan_code AND cur.version = tp.plan_version
       LEFT JOIN plan_versions pen ON pen.plan_code = tp.pending_plan_code AND pen.version = tp.pending_plan_version
       LEFT JOIN tenant_billing_settings s ON s.tenant_id = tp.tenant_id
      WHERE t.status IN ('active', 'suspended') AND ($1::uuid IS NULL OR tp.tenant_id = $1)
      ORDER BY tp.tenant_id`,
    [tenantId ?? null],
  );
  return rows.map((row) => {
    const changes = row.changes.map((c) => ({
      id: c.id,
      effectiveAt: new Date(c.effective_at),
      prorationMinor: Number(c.proration_minor),
      from: toPlanVersion(c.from),
      to: toPlanVersion(c.to),
    }));
    const reanchored = changes.some((c) => c.from.interval !== c.to.interval);
    return {
      tenantId: row.tenant_id,
      timeline: {
        // The stored anchor moves when the interval changes; the first period then began when the tenant did.
        firstStart: reanchored ? row.created_at : row.anchor_at,
        current: toPlanVersion(row.current),
        pending: row.pending && toPlanVersion(row.pending),
        storedPeriodEnd: row.period_end,
        changes,
      },
      invoicedUntil: row.invoiced_until,
      taxRateBp: row.tax_rate_bp ?? 0,
      paymentTermsDays: row.payment_terms_days ?? 14,
    };
  });
}

/** API calls counted in the aggregates for the hours in [from, to). */
export async function aggregatedApiCalls(db: Queryable, tenantId: string, from: Date, to: Date): Promise<number> {
  const { rows } = await db.query<{ calls: string }>(
    `SELECT coalesce(sum(total), 0) AS calls FROM usage_aggregates WHERE tenant_id = $1 AND metric = 'api_calls' AND hour >= $2 AND hour < $3`,
    [tenantId, from, to],
  );
  return Number(rows[0]!.calls);
}

/** API calls counted from the raw events of [from, to); undefined when retention has dropped some of that time. */
export async function rawApiCalls(db: Queryable, tenantId: string, from: Date, to: Date): Promise<number | undefined> {
  const { rows: kept } = await db.query<{ earliest: string | null }>(
    `SELECT min(substring(c.relname from 'usage_events_(\\d{4}_\\d{2})')) AS earliest
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_events'::regclass`,
  );
  const earliest = kept[0]?.earliest;
  if (!earliest) return undefined;
  const [year, month] = earliest.split('_').map(Number) as [number, number];
  if (from < new Date(Date.UTC(year, month - 1, 1))) return undefined;
  const { rows } = await db.query<{ calls: string }>(
    `SELECT count(*) AS calls FROM usage_events
      WHERE tenant_id = $1 AND code = 'api_request' AND occurred_at >= $2 AND occurred_at < $3`,
    [tenantId, from, to],
  );
  return Number(rows[0]!.calls);
}

/** Holds the tenant's invoicing to this transaction, so two closes never race on one tenant. */
export async function lockTenantInvoicing(db: Queryable, tenantId: string): Promise<Date | null> {
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('invoicing:' || $1::text, 0))`, [tenantId]);
  const { rows } = await db.query<{ until: Date | null }>('SELECT max(period_end) AS until FROM invoices WHERE tenant_id = $1', [tenantId]);
  return rows[0]?.until ?? null;
}

/**
 * Writes a period's invoice as a draft with its lines; undefined when the
 * period has an invoice already (the close ran before).
 */
export async function insertDraftInvoice(db: Queryable, tenantId: string, terms: InvoiceTerms): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO invoices (tenant_id, currency, period_start, period_end, plan_code, plan_version, subtotal_minor, tax_rate_bp, tax_minor, total_minor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (tenant_id, period_start) DO NOTHING RETURNING id`,
    [
      tenantId,
      terms.currency,
      terms.period.start,
      terms.period.end,
      terms.plan.code,
      terms.plan.version,
      terms.subtotalMinor,
      terms.taxRateBp,
      terms.taxMinor,
      terms.totalMinor,
    ],
  );
  const id = rows[0]?.id;
  if (!id) return undefined;
  await insertInvoiceLines(db, id, terms.lines);
  return id;
}

/**
 * An invoice's lines, numbered in order. The platform's invoices (master database) and a tenant's to its
 * clients (tenant database) keep their lines in tables of the same shape.
 */
export async function insertInvoiceLines(
  db: Queryable,
  invoiceId: string,
  lines: ReadonlyArray<{ kind: string; description: string; quantity: number; unitAmountMinor: number; amountMinor: number; source: object }>,
): Promise<void> {
  await db.query(
    `INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity, unit_amount_minor, amount_minor, source)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::jsonb[])`,
    [
      invoiceId,
      lines.map((_, i) => i + 1),
      lines.map((l) => l.kind),
      lines.map((l) => l.description),
      lines.map((l) => l.quantity),
      lines.map((l) => l.unitAmountMinor),
      lines.map((l) => l.amountMinor),
      lines.map((l) => JSON.stringify(l.source)),
    ],
  );
}

/** The next number of an issuer's year; taken in the caller's transaction, so a rollback gives it back. */
export async function takeInvoiceNumber(db: Queryable, issuer: string, year: number): Promise<number> {
  const { rows } = await db.query<{ last_number: number }>(
    `INSERT INTO invoice_sequences AS s (issuer, year, last_number) VALUES ($1, $2, 1)
     ON CONFLICT (issuer, year) DO UPDATE SET last_number = s.last_number + 1 RETURNING last_number`,
    [issuer, year],
  );
  return rows[0]!.last_number;
}

/** Finalizes a draft: numbered, issued, due (a zero total is settled at once). */
export async function finalizeInvoice(db: Queryable, id: string, number: string, issuedAt: Date, dueAt: Date, settled: boolean): Promise<void> {
  await db.query(
    `UPDATE invoices SET number = $2, issued_at = $3::timestamptz, due_at = $4, status = $5::text, paid_at = CASE WHEN $5::text = 'paid' THEN $3::timestamptz END
      WHERE id = $1 AND status = 'draft'`,
    [id, number, issuedAt, dueAt, settled ? 'paid' : 'finalized'],
  );
}

export interface Invoice {
  id: string;
  tenantId: string;
  number: string | null;
  status: 'draft' | 'finalized' | 'paid' | 'void' | 'uncollectible';
  currency: string;
  periodStart: string;
  periodEnd: string;
  plan: { code: string; version: number };
  subtotalMinor: number;
  taxRateBp: number;
  taxMinor: number;
  totalMinor: number;
  /** What payments have brought in (refunds are on the payments and do not reduce it). */
  paidMinor: number;
  /** What credit notes took off it. */
  creditedMinor: number;
  issuedAt: string | null;
  dueAt: string | null;
  paidAt: string | null;
  voidedAt: string | null;
  lines: InvoiceLine[];
}

const INVOICE_SELECT = `SELECT i.*, coalesce((SELECT jsonb_agg(jsonb_build_object('kind', l.kind, 'description', l.description, 'quantity', l.quantity,
    'unitAmountMinor', l.unit_amount_minor, 'amountMinor', l.amount_minor, 'source', l.source) ORDER BY l.position)
    FROM invoice_lines l WHERE l.invoice_id = i.id), '[]'::jsonb) AS lines, count(*) OVER () AS total_count FROM invoices i`;

interface InvoiceRecord {
  id: string;
  tenant_id: string;
  number: string | null;
  status: Invoice['status'];
  currency: string;
  period_start: Date;
  period_end: Date;
  plan_code: string;
  plan_version: number;
  subtotal_minor: string;
  tax_rate_bp: number;
  tax_minor: string;
  total_minor: string;
  paid_minor: string;
  credited_minor: string;
  issued_at: Date | null;
  due_at: Date | null;
  paid_at: Date | null;
  voided_at: Date | null;
  lines: Array<InvoiceLine & { quantity: number | string; unitAmountMinor: number | string; amountMinor: number | string }>;
  total_count: string;
}

const toInvoice = (row: InvoiceRecord): Invoice => ({
  id: row.id,
  tenantId: row.tenant_id,
  number: row.number,
  status: row.status,
  currency: row.currency,
  periodStart: row.period_start.toISOString(),
  periodEnd: row.period_end.toISOString(),
  plan: { code: row.plan_code, version: row.plan_version },
  subtotalMinor: Number(row.subtotal_minor),
  taxRateBp: row.tax_rate_bp,
  taxMinor: Number(row.tax_minor),
  totalMinor: Number(row.total_minor),
  paidMinor: Number(row.paid_minor),
  creditedMinor: Number(row.credited_minor),
  issuedAt: row.issued_at?.toISOString() ?? null,
  dueAt: row.due_at?.toISOString() ?? null,
  paidAt: row.paid_at?.toISOString() ?? null,
  voidedAt: row.voided_at?.toISOString() ?? null,
  lines: row.lines.map((l) => ({ ...l, quantity: Number(l.quantity), unitAmountMinor: Number(l.unitAmountMinor), amountMinor: Number(l.amountMinor) })),
});

export async function findInvoice(db: Queryable, id: string, tenantId?: string): Promise<Invoice | undefined> {
  const { rows } = await db.query<InvoiceRecord>(`${INVOICE_SELECT} WHERE i.id = $1 AND ($2::uuid IS NULL OR i.tenant_id = $2)`, [id, tenantId ?? null]);
  return rows[0] && toInvoice(rows[0]);
}

export async function listInvoices(
  db: Queryable,
  filter: { tenantId?: string; status?: Invoice['status']; limit: number; offset: number },
): Promise<{ items: Invoice[]; total: number }> {
  const where = `WHERE ($1::uuid IS NULL OR i.tenant_id = $1) AND ($2::text IS NULL OR i.status = $2)`;
  const values = [filter.tenantId ?? null, filter.status ?? null];
  const { rows } = await db.query<InvoiceRecord>(`${INVOICE_SELECT} ${where} ORDER BY i.period_start DESC, i.id LIMIT $3 OFFSET $4`, [
    ...values,
    filter.limit,
    filter.offset,
  ]);
  const total = await pageTotal(db, rows, filter.offset, `SELECT count(*) AS total_count FROM invoices i ${where}`, values);
  return { items: rows.map(toInvoice), total };
}

export interface BillingSettings {
  tenantId: string;
  taxRateBp: number;
  paymentTermsDays: number;
  billingEmail: string | null;
  stripeCustomerId: string | null;
  stripePaymentMethodId: string | null;
}

export async function findBillingSettings(db: Queryable, tenantId: string): Promise<BillingSettings | undefined> {
  const { rows } = await db.query<{
    id: string;
    tax_rate_bp: number | null;
    payment_terms_days: number | null;
    billing_email: string | null;
    stripe_customer_id: string | null;
    stripe_payment_method_id: string | null;
  }>(
    `SELECT t.id, s.tax_rate_bp, s.payment_terms_days, s.billing_email, s.stripe_customer_id, s.stripe_payment_method_id
       FROM tenants t LEFT JOIN tenant_billing_settings s ON s.tenant_id = t.id WHERE t.id = $1`,
    [tenantId],
  );
  const row = rows[0];
  return (
    row && {
      tenantId: row.id,
      taxRateBp: row.tax_rate_bp ?? 0,
      paymentTermsDays: row.payment_terms_days ?? 14,
      billingEmail: row.billing_email,
      stripeCustomerId: row.stripe_customer_id,
      stripePaymentMethodId: row.stripe_payment_method_id,
    }
  );
}

export async function saveBillingSettings(db: Queryable, settings: BillingSettings): Promise<void> {
  await db.query(
    `INSERT INTO tenant_billing_settings (tenant_id, tax_rate_bp, payment_terms_days, billing_email, stripe_customer_id, stripe_payment_method_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id) DO UPDATE SET tax_rate_bp = $2, payment_terms_days = $3, billing_email = $4, stripe_customer_id = $5, stripe_payment_method_id = $6`,
    [settings.tenantId, settings.taxRateBp, settings.paymentTermsDays, settings.billingEmail, settings.stripeCustomerId, settings.stripePaymentMethodId],
  );
}

/** Moves a finalized (or uncollectible) invoice to `void` or `uncollectible`; the invoice must be locked by the caller. */
export async function setInvoiceClosedStatus(db: Queryable, id: string, status: 'void' | 'uncollectible', at: Date): Promise<void> {
  await db.query(`UPDATE invoices SET status = $2::text, voided_at = CASE WHEN $2::text = 'void' THEN $3::timestamptz ELSE voided_at END WHERE id = $1`, [
    id,
    status,
    at,
  ]);
}

/** Whether a payment of the invoice is under way or has succeeded. */
export async function invoicePaymentState(db: Queryable, invoiceId: string): Promise<{ open: boolean; succeeded: boolean }> {
  const { rows } = await db.query<{ open: boolean; succeeded: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM payments WHERE invoice_id = $1 AND status IN ('pending', 'processing')) AS open,
            EXISTS (SELECT 1 FROM payments WHERE invoice_id = $1 AND status = 'succeeded') AS succeeded`,
    [invoiceId],
  );
  return rows[0]!;
}

export interface RevenueRow {
  period: string;
  currency: string;
  invoices: number;
  voidedInvoices: number;
  billedMinor: number;
  collectedMinor: number;
  refundedMinor: number;
  creditedMinor: number;
  outstandingMinor: number;
  writtenOffMinor: number;
}

/**
 * Revenue per calendar month (UTC) of issue and currency, from the invoices
 * issued in [from, to): billed (void left out), collected and refunded on
 * them, what is still owed, and what was written off as uncollectible.
 */
export async function revenueByMonth(db: Queryable, from: Date, to: Date): Promise<RevenueRow[]> {
  const { rows } = await db.query<{
    period: string;
    currency: string;
    invoices: string;
    voided_invoices: string;
    billed: string;
    collected: string;
    refunded: string;
    credited: string;
    outstanding: string;
    written_off: string;
  }>(
    `WITH issued AS (
       SELECT i.*, (SELECT coalesce(sum(p.refunded_minor), 0) FROM payments p WHERE p.invoice_id = i.id) AS refunded
         FROM invoices i
        WHERE i.status <> 'draft' AND i.issued_at >= $1 AND i.issued_at < $2
     )
     SELECT to_char(date_trunc('month', issued_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS period, currency,
            count(*) FILTER (WHERE status <> 'void') AS invoices,
            count(*) FILTER (WHERE status = 'void') AS voided_invoices,
            coalesce(sum(total_minor) FILTER (WHERE status <> 'void'), 0) AS billed,
            coalesce(sum(paid_minor) FILTER (WHERE status <> 'void'), 0) AS collected,
            coalesce(sum(refunded) FILTER (WHERE status <> 'void'), 0) AS refunded,
            coalesce(sum(credited_minor) FILTER (WHERE status <> 'void'), 0) AS credited,
            coalesce(sum(total_minor - paid_minor - credited_minor) FILTER (WHERE status = 'finalized'), 0) AS outstanding,
            coalesce(sum(total_minor - paid_minor - credited_minor) FILTER (WHERE status = 'uncollectible'), 0) AS written_off
       FROM issued GROUP BY 1, 2 ORDER BY 1, 2`,
    [from, to],
  );
  return rows.map((row) => ({
    period: row.period,
    currency: row.currency,
    invoices: Number(row.invoices),
    voidedInvoices: Number(row.voided_invoices),
    billedMinor: Number(row.billed),
    collectedMinor: Number(row.collected),
    refundedMinor: Number(row.refunded),
    creditedMinor: Number(row.credited),
    outstandingMinor: Number(row.outstanding),
    writtenOffMinor: Number(row.written_off),
  }));
}

/** The tenant as an invoice names it. */
export async function invoiceCustomer(db: Queryable, tenantId: string): Promise<{ name: string; slug: string; email: string | null }> {
  const { rows } = await db.query<{ name: string; slug: string; billing_email: string | null }>(
    `SELECT t.name, t.slug, s.billing_email FROM tenants t LEFT JOIN tenant_billing_settings s ON s.tenant_id = t.id WHERE t.id = $1`,
    [tenantId],
  );
  return { name: rows[0]?.name ?? '', slug: rows[0]?.slug ?? '', email: rows[0]?.billing_email ?? null };
}

/** Tenants whose databases are in service: the ones the client-billing job visits. */
export async function activeTenantIds(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM tenants WHERE status = 'active' ORDER BY created_at`);
  return rows.map((row) => row.id);
}

export async function isActiveTenant(db: Queryable, tenantId: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM tenants WHERE id = $1 AND status = 'active'`, [tenantId]);
  return rowCount === 1;
}
