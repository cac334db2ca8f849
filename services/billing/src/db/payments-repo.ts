import { pageTotal, type Queryable } from '@codex/shared';

export type PaymentStatus = 'pending' | 'processing' | 'succeeded' | 'failed';

/** A payment as both ledgers keep it: the platform's (master database) adds the tenant it is from. */
export interface LedgerPayment {
  id: string;
  invoiceId: string;
  provider: 'manual' | 'stripe';
  status: PaymentStatus;
  amountMinor: number;
  currency: string;
  /** What refunds that went through gave back of it. */
  refundedMinor: number;
  providerRef: string | null;
  reference: string | null;
  failureReason: string | null;
  /** What a Stripe charge was asked with (null for a manual payment). */
  paymentMethod: string | null;
  providerCustomer: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Payment extends LedgerPayment {
  tenantId: string;
}

/** A `payments` row of either database. */
export interface LedgerPaymentRow {
  id: string;
  invoice_id: string;
  provider: Payment['provider'];
  status: PaymentStatus;
  amount_minor: string;
  currency: string;
  refunded_minor: string;
  provider_ref: string | null;
  reference: string | null;
  failure_reason: string | null;
  payment_method: string | null;
  provider_customer: string | null;
  created_at: Date;
  updated_at: Date;
  total_count?: string;
}

type PaymentRow = LedgerPaymentRow & { tenant_id: string };

export const toLedgerPayment = (row: LedgerPaymentRow): LedgerPayment => ({
  id: row.id,
  invoiceId: row.invoice_id,
  provider: row.provider,
  status: row.status,
  amountMinor: Number(row.amount_minor),
  currency: row.currency,
  refundedMinor: Number(row.refunded_minor),
  providerRef: row.provider_ref,
  reference: row.reference,
  failureReason: row.failure_reason,
  paymentMethod: row.payment_method,
  providerCustomer: row.provider_customer,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

const toPayment = (row: PaymentRow): Payment => ({ ...toLedgerPayment(row), tenantId: row.tenant_id });

/**
 * The reads of `payments` both ledgers make (the same table shape in the master database and in each
 * tenant's), each answering rows through `map`: the platform's adds the tenant a payment is from.
 */
export function paymentReads<P>(map: (row: PaymentRow) => P) {
  return {
    async find(db: Queryable, id: string, lock = false): Promise<P | undefined> {
      const { rows } = await db.query<PaymentRow>(`SELECT * FROM payments WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
      return rows[0] && map(rows[0]);
    },
    /** The payment a provider event names: by the provider's id, else by our id in its metadata. */
    async findByRef(db: Queryable, providerRef: string, paymentId: string | undefined, lock = false): Promise<P | undefined> {
      const { rows } = await db.query<PaymentRow>(
        `SELECT * FROM payments WHERE provider_ref = $1 OR id = $2::uuid ORDER BY (provider_ref = $1) DESC LIMIT 1${lock ? ' FOR UPDATE' : ''}`,
        [providerRef, paymentId && /^[0-9a-f-]{36}$/i.test(paymentId) ? paymentId : null],
      );
      return rows[0] && map(rows[0]);
    },
    /** Stripe payments left pending (the process died before it learnt the outcome), oldest first. */
    async stalePending(db: Queryable, olderThanSeconds: number): Promise<P[]> {
      const { rows } = await db.query<PaymentRow>(
        `SELECT * FROM payments WHERE status IN ('pending', 'processing') AND provider = 'stripe' AND updated_at < now() - make_interval(secs => $1)
          ORDER BY created_at LIMIT 100`,
        [olderThanSeconds],
      );
      return rows.map(map);
    },
  };
}

export const { find: findPayment, findByRef: findPaymentByRef, stalePending: stalePendingPayments } = paymentReads(toPayment);

export interface InvoiceForPayment {
  id: string;
  tenantId: string;
  number: string | null;
  status: string;
  currency: string;
  totalMinor: number;
  paidMinor: number;
  creditedMinor: number;
}

/** The invoice, locked for the caller's transaction. */
export async function lockInvoice(db: Queryable, id: string): Promise<InvoiceForPayment | undefined> {
  const { rows } = await db.query<{
    id: string;
    tenant_id: string;
    number: string | null;
    status: string;
    currency: string;
    total_minor: string;
    paid_minor: string;
    credited_minor: string;
  }>('SELECT id, tenant_id, number, status, currency, total_minor, paid_minor, credited_minor FROM invoices WHERE id = $1 FOR UPDATE', [id]);
  const row = rows[0];
  return (
    row && {
      id: row.id,
      tenantId: row.tenant_id,
      number: row.number,
      status: row.status,
      currency: row.currency,
      totalMinor: Number(row.total_minor),
      paidMinor: Number(row.paid_minor),
      creditedMinor: Number(row.credited_minor),
    }
  );
}

/** A new pending payment; undefined when the invoice has one under way already. */
export async function insertPayment(
  db: Queryable,
  payment: {
    invoiceId: string;
    tenantId: string;
    provider: Payment['provider'];
    amountMinor: number;
    currency: string;
    reference: string | null;
    paymentMethod: string | null;
    providerCustomer: string | null;
    actorId: string | null;
  },
): Promise<Payment | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `INSERT INTO payments (invoice_id, tenant_id, provider, amount_minor, currency, reference, payment_method, provider_customer, actor_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (invoice_id) WHERE status IN ('pending', 'processing') DO NOTHING RETURNING *`,
    [
      payment.invoiceId,
      payment.tenantId,
      payment.provider,
      payment.amountMinor,
      payment.currency,
      payment.reference,
      payment.paymentMethod,
      payment.providerCustomer,
      payment.actorId,
    ],
  );
  return rows[0] && toPayment(rows[0]);
}

export async function updatePaymentOutcome(
  db: Queryable,
  id: string,
  outcome: { status: PaymentStatus; providerRef: string | null; failureReason?: string | null },
): Promise<void> {
  await db.query(`UPDATE payments SET status = $2, provider_ref = coalesce($3, provider_ref), failure_reason = $4 WHERE id = $1`, [
    id,
    outcome.status,
    outcome.providerRef,
    outcome.failureReason ?? null,
  ]);
}

/** Adds a succeeded payment to its invoice; the invoice is paid once its total is covered. */
export async function addToInvoicePaid(db: Queryable, invoiceId: string, amountMinor: number): Promise<{ status: string; tenantId: string }> {
  const { rows } = await db.query<{ status: string; tenant_id: string }>(
    `UPDATE invoices SET paid_minor = paid_minor + $2,
            status = CASE WHEN paid_minor + $2 + credited_minor >= total_minor AND status IN ('finalized', 'uncollectible') THEN 'paid' ELSE status END,
            paid_at = CASE WHEN paid_minor + $2 + credited_minor >= total_minor AND status IN ('finalized', 'uncollectible') THEN now() ELSE paid_at END
      WHERE id = $1 RETURNING status, tenant_id`,
    [invoiceId, amountMinor],
  );
  return { status: rows[0]!.status, tenantId: rows[0]!.tenant_id };
}

export async function setRefunded(db: Queryable, paymentId: string, refundedMinor: number): Promise<void> {
  await db.query('UPDATE payments SET refunded_minor = greatest(refunded_minor, least($2, amount_minor)) WHERE id = $1', [paymentId, refundedMinor]);
}

/** What is refunded or on its way back of a payment. */
export async function refundedOrPending(db: Queryable, paymentId: string): Promise<number> {
  const { rows } = await db.query<{ sum: string }>(`SELECT coalesce(sum(amount_minor), 0) AS sum FROM refunds WHERE payment_id = $1 AND status <> 'failed'`, [
    paymentId,
  ]);
  return Number(rows[0]!.sum);
}

export async function insertRefund(db: Queryable, refund: { paymentId: string; amountMinor: number; reason: string | null; actorId: string }): Promise<string> {
  const { rows } = await db.query<{ id: string }>(`INSERT INTO refunds (payment_id, amount_minor, reason, actor_id) VALUES ($1, $2, $3, $4) RETURNING id`, [
    refund.paymentId,
    refund.amountMinor,
    refund.reason,
    refund.actorId,
  ]);
  return rows[0]!.id;
}

export async function updateRefund(db: Queryable, id: string, outcome: { status: string; providerRef: string | null }): Promise<void> {
  await db.query('UPDATE refunds SET status = $2, provider_ref = coalesce($3, provider_ref) WHERE id = $1', [id, outcome.status, outcome.providerRef]);
}

/** Succeeded refunds of a payment, in total. */
export async function succeededRefunds(db: Queryable, paymentId: string): Promise<number> {
  const { rows } = await db.query<{ sum: string }>(`SELECT coalesce(sum(amount_minor), 0) AS sum FROM refunds WHERE payment_id = $1 AND status = 'succeeded'`, [
    paymentId,
  ]);
  return Number(rows[0]!.sum);
}

/** Stripe payments left pending (the process died before it learnt the outcome), oldest first. */

export async function listPayments(db: Queryable, filter: { tenantId?: string; invoiceId?: string; status?: PaymentStatus; limit: number; offset: number }) {
  const where = `WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR invoice_id = $2) AND ($3::text IS NULL OR status = $3)`;
  const values = [filter.tenantId ?? null, filter.invoiceId ?? null, filter.status ?? null];
  const { rows } = await db.query<PaymentRow>(
    `SELECT *, count(*) OVER () AS total_count FROM payments ${where} ORDER BY created_at DESC, id LIMIT $4 OFFSET $5`,
    [...values, filter.limit, filter.offset],
  );
  return { items: rows.map(toPayment), total: await pageTotal(db, rows, filter.offset, `SELECT count(*) AS total_count FROM payments ${where}`, values) };
}

/** Notes a webhook event; false when it was handled before. */
export async function noteWebhookEvent(db: Queryable, provider: string, eventId: string, type: string): Promise<boolean> {
  const { rowCount } = await db.query('INSERT INTO webhook_events (provider, event_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    provider,
    eventId,
    type,
  ]);
  return rowCount === 1;
}

export interface StoredProvider {
  secretKeySealed: string;
  webhookSecretSealed: string;
  keyHint: string;
  updatedAt: string;
}

export async function findProvider(db: Queryable, provider: 'stripe'): Promise<StoredProvider | undefined> {
  const { rows } = await db.query<{ secret_key_sealed: string; webhook_secret_sealed: string; key_hint: string; updated_at: Date }>(
    'SELECT * FROM payment_providers WHERE provider = $1',
    [provider],
  );
  const row = rows[0];
  return (
    row && {
      secretKeySealed: row.secret_key_sealed,
      webhookSecretSealed: row.webhook_secret_sealed,
      keyHint: row.key_hint,
      updatedAt: row.updated_at.toISOString(),
    }
  );
}

export async function saveProvider(db: Queryable, provider: 'stripe', sealed: { secretKey: string; webhookSecret: string; keyHint: string }): Promise<void> {
  await db.query(
    `INSERT INTO payment_providers (provider, secret_key_sealed, webhook_secret_sealed, key_hint) VALUES ($1, $2, $3, $4)
     ON CONFLICT (provider) DO UPDATE SET secret_key_sealed = $2, webhook_secret_sealed = $3, key_hint = $4`,
    [provider, sealed.secretKey, sealed.webhookSecret, sealed.keyHint],
  );
}

/** The tenant's saved Stripe customer and payment method, if any. */
export async function tenantPaymentMethod(db: Queryable, tenantId: string): Promise<{ customer: string | null; paymentMethod: string | null }> {
  const { rows } = await db.query<{ stripe_customer_id: string | null; stripe_payment_method_id: string | null }>(
    'SELECT stripe_customer_id, stripe_payment_method_id FROM tenant_billing_settings WHERE tenant_id = $1',
    [tenantId],
  );
  return { customer: rows[0]?.stripe_customer_id ?? null, paymentMethod: rows[0]?.stripe_payment_method_id ?? null };
}

/** A Stripe refund the provider has not answered, with what asking again needs (either database). */
export interface PendingRefund {
  refundId: string;
  paymentId: string;
  providerRef: string;
  amountMinor: number;
}

/** Stripe refunds still pending after `olderThanSeconds` (no answer came), oldest first. */
export async function stalePendingRefunds(db: Queryable, olderThanSeconds: number): Promise<PendingRefund[]> {
  const { rows } = await db.query<{ id: string; payment_id: string; provider_ref: string; amount_minor: string }>(
    `SELECT r.id, r.payment_id, p.provider_ref, r.amount_minor FROM refunds r JOIN payments p ON p.id = r.payment_id
      WHERE r.status = 'pending' AND p.provider = 'stripe' AND p.provider_ref IS NOT NULL AND r.updated_at < now() - make_interval(secs => $1)
      ORDER BY r.created_at LIMIT 100`,
    [olderThanSeconds],
  );
  return rows.map((row) => ({ refundId: row.id, paymentId: row.payment_id, providerRef: row.provider_ref, amountMinor: Number(row.amount_minor) }));
}

/** Locks a payment row for the caller's transaction (either database). */
export async function lockPaymentRow(tx: Queryable, paymentId: string): Promise<void> {
  await tx.query('SELECT 1 FROM payments WHERE id = $1 FOR UPDATE', [paymentId]);
}
