import { pageTotal, type Queryable } from '@codex/shared';
import { insertInvoiceLines } from './invoices-repo';
import { paymentReads, toLedgerPayment, type LedgerPayment, type LedgerPaymentRow, type PaymentStatus } from './payments-repo';
import type { ClientInvoiceLine, ClientInvoiceTerms, PriceToBill, SubscriptionChangeRecord, SubscriptionToBill } from '../domain/client-invoice-terms';

/** A tenant database's own billing of its clients: every query here runs on one tenant's connection. */

export interface ClientBillingSettings {
  issuerName: string;
  taxRateBp: number;
  paymentTermsDays: number;
  stripe: { secretKeySealed: string; webhookSecretSealed: string; keyHint: string } | null;
  updatedAt: string | null;
}

interface SettingsRow {
  issuer_name: string;
  tax_rate_bp: number;
  payment_terms_days: number;
  stripe_secret_key_sealed: string | null;
  stripe_webhook_secret_sealed: string | null;
  stripe_key_hint: string | null;
  updated_at: Date;
}

export async function findClientBillingSettings(db: Queryable): Promise<ClientBillingSettings> {
  const { rows } = await db.query<SettingsRow>('SELECT * FROM billing_settings');
  const row = rows[0];
  if (!row) return { issuerName: '', taxRateBp: 0, paymentTermsDays: 14, stripe: null, updatedAt: null };
  return {
    issuerName: row.issuer_name,
    taxRateBp: row.tax_rate_bp,
    paymentTermsDays: row.payment_terms_days,
    stripe:
      row.stripe_secret_key_sealed && row.stripe_webhook_secret_sealed
        ? { secretKeySealed: row.stripe_secret_key_sealed, webhookSecretSealed: row.stripe_webhook_secret_sealed, keyHint: row.stripe_key_hint ?? '' }
        : null,
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function saveClientBillingSettings(db: Queryable, settings: Omit<ClientBillingSettings, 'updatedAt'>): Promise<void> {
  await db.query(
    `INSERT INTO billing_settings (issuer_name, tax_rate_bp, payment_terms_days, stripe_secret_key_sealed, stripe_webhook_secret_sealed, stripe_key_hint)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (singleton) DO UPDATE SET issuer_name = $1, tax_rate_bp = $2, payment_terms_days = $3,
       stripe_secret_key_sealed = $4, stripe_webhook_secret_sealed = $5, stripe_key_hint = $6`,
    [
      settings.issuerName,
      settings.taxRateBp,
      settings.paymentTermsDays,
      settings.stripe?.secretKeySealed ?? null,
      settings.stripe?.webhookSecretSealed ?? null,
      settings.stripe?.keyHint ?? null,
    ],
  );
}

interface SubscriptionRow {
  id: string;
  client_id: string;
  status: SubscriptionToBill['status'];
  price_id: string;
  quantity: number;
  billing_interval: SubscriptionToBill['interval'];
  anchor_at: Date;
  current_period_end: Date;
  cancel_at_period_end: boolean;
  paused_at: Date | null;
  canceled_at: Date | null;
  invoiced_until: Date | null;
}

const SUBSCRIPTION_SELECT = `SELECT s.id, s.client_id, s.status, s.price_id, s.quantity, p.billing_interval, s.anchor_at, s.current_period_end,
    s.cancel_at_period_end, s.paused_at, s.canceled_at, (SELECT max(period_end) FROM invoices i WHERE i.subscription_id = s.id) AS invoiced_until
  FROM subscriptions s JOIN prices p ON p.id = s.price_id`;

const toSubscription = (row: SubscriptionRow): { subscription: SubscriptionToBill; invoicedUntil: Date | null } => ({
  subscription: {
    id: row.id,
    clientId: row.client_id,
    status: row.status,
    priceId: row.price_id,
    quantity: row.quantity,
    interval: row.billing_interval,
    anchorAt: row.anchor_at,
    currentPeriodEnd: row.current_period_end,
    cancelAtPeriodEnd: row.cancel_at_period_end,
    pausedAt: row.paused_at,
    canceledAt: row.canceled_at,
  },
  invoicedUntil: row.invoiced_until,
});

/** Subscriptions that may have a period to invoice: recurring, and not canceled before their last invoiced period ended. */
export async function subscriptionsToBill(db: Queryable, now: Date): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT s.id FROM subscriptions s JOIN prices p ON p.id = s.price_id
      WHERE p.billing_interval IS NOT NULL AND s.anchor_at <= $1
        AND (s.canceled_at IS NULL OR s.canceled_at > coalesce((SELECT max(period_end) FROM invoices i WHERE i.subscription_id = s.id), '-infinity'))
      ORDER BY s.created_at`,
    [now],
  );
  return rows.map((row) => row.id);
}

/** The subscription, locked against its own changes while a period of it is invoiced, with where its invoices end. */
export async function lockSubscriptionToBill(tx: Queryable, id: string) {
  const { rows } = await tx.query<SubscriptionRow>(`${SUBSCRIPTION_SELECT} WHERE s.id = $1 FOR UPDATE OF s`, [id]);
  return rows[0] && toSubscription(rows[0]);
}

export async function subscriptionChanges(tx: Queryable, subscriptionId: string): Promise<SubscriptionChangeRecord[]> {
  const { rows } = await tx.query<{
    id: string;
    kind: string;
    occurred_at: Date;
    proration_minor: string;
    details: { before?: { priceId: string; quantity: number } };
  }>('SELECT id, kind, occurred_at, proration_minor, details FROM subscription_changes WHERE subscription_id = $1 ORDER BY id', [subscriptionId]);
  return rows.map((row) => ({
    id: Number(row.id),
    kind: row.kind,
    occurredAt: row.occurred_at,
    prorationMinor: Number(row.proration_minor),
    before: row.details.before ?? null,
  }));
}

/** The prices a subscription has had, with their products' names. */
export async function pricesOf(tx: Queryable, ids: string[]): Promise<Map<string, PriceToBill>> {
  const { rows } = await tx.query<{ id: string; name: string; amount_minor: string; currency: string }>(
    'SELECT p.id, pr.name, p.amount_minor, p.currency FROM prices p JOIN products pr ON pr.id = p.product_id WHERE p.id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((row) => [row.id, { id: row.id, productName: row.name, amountMinor: Number(row.amount_minor), currency: row.currency }]));
}

export async function lastChangesThrough(tx: Queryable, subscriptionId: string): Promise<number> {
  const { rows } = await tx.query<{ through: string | null }>('SELECT max(changes_through) AS through FROM invoices WHERE subscription_id = $1', [
    subscriptionId,
  ]);
  return Number(rows[0]?.through ?? 0);
}

export async function takeClientInvoiceNumber(tx: Queryable, year: number): Promise<number> {
  const { rows } = await tx.query<{ last_number: number }>(
    `INSERT INTO invoice_sequences (year, last_number) VALUES ($1, 1)
     ON CONFLICT (year) DO UPDATE SET last_number = invoice_sequences.last_number + 1 RETURNING last_number`,
    [year],
  );
  return rows[0]!.last_number;
}

/** Writes an issued invoice with its lines; undefined when its period is invoiced already. */
export async function insertClientInvoice(
  tx: Queryable,
  invoice: { subscription: SubscriptionToBill; number: string; terms: ClientInvoiceTerms; issuedAt: Date; dueAt: Date },
): Promise<string | undefined> {
  const { terms } = invoice;
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO invoices (client_id, subscription_id, number, status, currency, period_start, period_end, subtotal_minor, tax_rate_bp,
        tax_minor, total_minor, changes_through, issued_at, due_at, paid_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (subscription_id, period_start) DO NOTHING RETURNING id`,
    [
      invoice.subscription.clientId,
      invoice.subscription.id,
      invoice.number,
      terms.totalMinor <= 0 ? 'paid' : 'finalized',
      terms.currency,
      terms.period.start,
      terms.period.end,
      terms.subtotalMinor,
      terms.taxRateBp,
      terms.taxMinor,
      terms.totalMinor,
      terms.changesThrough,
      invoice.issuedAt,
      invoice.dueAt,
      terms.totalMinor <= 0 ? invoice.issuedAt : null,
    ],
  );
  const id = rows[0]?.id;
  if (!id) return undefined;
  await insertInvoiceLines(tx, id, terms.lines);
  return id;
}

export type ClientInvoiceStatus = 'finalized' | 'paid' | 'void' | 'uncollectible';

export interface ClientInvoice {
  id: string;
  clientId: string;
  subscriptionId: string;
  number: string;
  status: ClientInvoiceStatus;
  currency: string;
  periodStart: string;
  periodEnd: string;
  subtotalMinor: number;
  taxRateBp: number;
  taxMinor: number;
  totalMinor: number;
  paidMinor: number;
  issuedAt: string;
  dueAt: string;
  paidAt: string | null;
  voidedAt: string | null;
  lines: ClientInvoiceLine[];
}

interface ClientInvoiceRow {
  id: string;
  client_id: string;
  subscription_id: string;
  number: string;
  status: ClientInvoiceStatus;
  currency: string;
  period_start: Date;
  period_end: Date;
  subtotal_minor: string;
  tax_rate_bp: number;
  tax_minor: string;
  total_minor: string;
  paid_minor: string;
  issued_at: Date;
  due_at: Date;
  paid_at: Date | null;
  voided_at: Date | null;
  lines: Array<
    Omit<ClientInvoiceLine, 'quantity' | 'unitAmountMinor' | 'amountMinor'> & Record<'quantity' | 'unitAmountMinor' | 'amountMinor', number | string>
  >;
  total_count?: string;
}

const INVOICE_SELECT = `SELECT i.*, coalesce((SELECT jsonb_agg(jsonb_build_object('kind', l.kind, 'description', l.description, 'quantity', l.quantity,
    'unitAmountMinor', l.unit_amount_minor, 'amountMinor', l.amount_minor, 'source', l.source) ORDER BY l.position)
    FROM invoice_lines l WHERE l.invoice_id = i.id), '[]'::jsonb) AS lines, count(*) OVER () AS total_count FROM invoices i`;

const toClientInvoice = (row: ClientInvoiceRow): ClientInvoice => ({
  id: row.id,
  clientId: row.client_id,
  subscriptionId: row.subscription_id,
  number: row.number,
  status: row.status,
  currency: row.currency,
  periodStart: row.period_start.toISOString(),
  periodEnd: row.period_end.toISOString(),
  subtotalMinor: Number(row.subtotal_minor),
  taxRateBp: row.tax_rate_bp,
  taxMinor: Number(row.tax_minor),
  totalMinor: Number(row.total_minor),
  paidMinor: Number(row.paid_minor),
  issuedAt: row.issued_at.toISOString(),
  dueAt: row.due_at.toISOString(),
  paidAt: row.paid_at?.toISOString() ?? null,
  voidedAt: row.voided_at?.toISOString() ?? null,
  lines: row.lines.map((l) => ({ ...l, quantity: Number(l.quantity), unitAmountMinor: Number(l.unitAmountMinor), amountMinor: Number(l.amountMinor) })),
});

/** The invoice; with `lock`, locked for the caller's transaction (a row lock cannot ride on the windowed read). */
export async function findClientInvoice(db: Queryable, id: string, lock = false): Promise<ClientInvoice | undefined> {
  if (lock && (await db.query('SELECT 1 FROM invoices WHERE id = $1 FOR UPDATE', [id])).rowCount === 0) return undefined;
  const { rows } = await db.query<ClientInvoiceRow>(`${INVOICE_SELECT} WHERE i.id = $1`, [id]);
  return rows[0] && toClientInvoice(rows[0]);
}

export async function listClientInvoices(
  db: Queryable,
  filter: { clientId?: string; subscriptionId?: string; status?: ClientInvoiceStatus; limit: number; offset: number },
) {
  const where = 'WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2::uuid IS NULL OR subscription_id = $2) AND ($3::text IS NULL OR status = $3)';
  const values = [filter.clientId ?? null, filter.subscriptionId ?? null, filter.status ?? null];
  const { rows } = await db.query<ClientInvoiceRow>(`${INVOICE_SELECT} ${where} ORDER BY i.issued_at DESC, i.id DESC LIMIT $4 OFFSET $5`, [
    ...values,
    filter.limit,
    filter.offset,
  ]);
  return {
    items: rows.map(toClientInvoice),
    total: await pageTotal(db, rows, filter.offset, `SELECT count(*) AS total_count FROM invoices ${where}`, values),
  };
}

export async function setClientInvoiceStatus(tx: Queryable, id: string, status: 'void' | 'uncollectible', at: Date): Promise<void> {
  await tx.query(`UPDATE invoices SET status = $2, voided_at = CASE WHEN $2 = 'void' THEN $3::timestamptz ELSE voided_at END WHERE id = $1`, [id, status, at]);
}

/** Adds a settled payment to its invoice, which is paid once the whole total is in. */
export async function addToClientInvoicePaid(tx: Queryable, id: string, amountMinor: number): Promise<void> {
  await tx.query(
    `UPDATE invoices SET paid_minor = paid_minor + $2,
        status = CASE WHEN paid_minor + $2 >= total_minor THEN 'paid' ELSE status END,
        paid_at = CASE WHEN paid_minor + $2 >= total_minor THEN now() ELSE paid_at END
      WHERE id = $1`,
    [id, amountMinor],
  );
}

export type ClientPaymentStatus = PaymentStatus;
export type ClientPayment = LedgerPayment;

export const { find: findClientPayment, findByRef: findClientPaymentByRef, stalePending: staleClientPayments } = paymentReads(toLedgerPayment);

/** A new pending payment; undefined when the invoice has one under way already. */
export async function insertClientPayment(
  tx: Queryable,
  payment: Pick<ClientPayment, 'invoiceId' | 'provider' | 'amountMinor' | 'currency' | 'reference' | 'paymentMethod' | 'providerCustomer'> & {
    actorId: string | null;
  },
): Promise<ClientPayment | undefined> {
  const { rows } = await tx.query<LedgerPaymentRow>(
    `INSERT INTO payments (invoice_id, provider, amount_minor, currency, reference, payment_method, provider_customer, actor_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (invoice_id) WHERE status IN ('pending', 'processing') DO NOTHING RETURNING *`,
    [
      payment.invoiceId,
      payment.provider,
      payment.amountMinor,
      payment.currency,
      payment.reference,
      payment.paymentMethod,
      payment.providerCustomer,
      payment.actorId,
    ],
  );
  return rows[0] && toLedgerPayment(rows[0]);
}

/** Stripe payments still pending after `olderThanSeconds`, oldest first. */

export async function listClientPayments(db: Queryable, filter: { invoiceId?: string; status?: ClientPaymentStatus; limit: number; offset: number }) {
  const where = 'WHERE ($1::uuid IS NULL OR invoice_id = $1) AND ($2::text IS NULL OR status = $2)';
  const values = [filter.invoiceId ?? null, filter.status ?? null];
  const { rows } = await db.query<LedgerPaymentRow>(
    `SELECT *, count(*) OVER () AS total_count FROM payments ${where} ORDER BY created_at DESC, id LIMIT $3 OFFSET $4`,
    [...values, filter.limit, filter.offset],
  );
  return { items: rows.map(toLedgerPayment), total: await pageTotal(db, rows, filter.offset, `SELECT count(*) AS total_count FROM payments ${where}`, values) };
}

/** Whether an invoice has a payment under way or one that succeeded. */
export async function clientInvoicePaymentState(tx: Queryable, invoiceId: string): Promise<{ open: boolean; succeeded: boolean }> {
  const { rows } = await tx.query<{ open: boolean; succeeded: boolean }>(
    `SELECT bool_or(status IN ('pending', 'processing')) IS TRUE AS open, bool_or(status = 'succeeded') IS TRUE AS succeeded FROM payments WHERE invoice_id = $1`,
    [invoiceId],
  );
  return rows[0] ?? { open: false, succeeded: false };
}

export interface OverdueClientInvoice {
  invoiceId: string;
  subscriptionId: string;
  dueAt: Date;
  /** Charges dunning has made of it (Stripe payments no one started). */
  automaticAttempts: number;
  paymentOpen: boolean;
  /** The payment method and customer of its latest Stripe payment: what a retry charges. */
  lastMethod: { paymentMethod: string; customer: string | null } | null;
}

/** Issued invoices past their due date and not covered, oldest due first. */
export async function overdueClientInvoices(db: Queryable, now: Date): Promise<OverdueClientInvoice[]> {
  const { rows } = await db.query<{
    id: string;
    subscription_id: string;
    due_at: Date;
    automatic_attempts: string;
    payment_open: boolean;
    payment_method: string | null;
    provider_customer: string | null;
  }>(
    `SELECT i.id, i.subscription_id, i.due_at,
            (SELECT count(*) FROM payments p WHERE p.invoice_id = i.id AND p.provider = 'stripe' AND p.actor_id IS NULL) AS automatic_attempts,
            EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.status IN ('pending', 'processing')) AS payment_open,
            last.payment_method, last.provider_customer
       FROM invoices i
       LEFT JOIN LATERAL (SELECT p.payment_method, p.provider_customer FROM payments p
                           WHERE p.invoice_id = i.id AND p.provider = 'stripe' AND p.payment_method IS NOT NULL
                           ORDER BY p.created_at DESC LIMIT 1) last ON true
      WHERE i.status = 'finalized' AND i.due_at < $1 AND i.paid_minor < i.total_minor
      ORDER BY i.due_at, i.id`,
    [now],
  );
  return rows.map((row) => ({
    invoiceId: row.id,
    subscriptionId: row.subscription_id,
    dueAt: row.due_at,
    automaticAttempts: Number(row.automatic_attempts),
    paymentOpen: row.payment_open,
    lastMethod: row.payment_method ? { paymentMethod: row.payment_method, customer: row.provider_customer } : null,
  }));
}

/** Subscriptions dunning holds, with the invoice each is held for. */
export async function heldSubscriptions(db: Queryable): Promise<Map<string, string>> {
  const { rows } = await db.query<{ subscription_id: string; invoice_id: string }>('SELECT subscription_id, invoice_id FROM client_dunning');
  return new Map(rows.map((row) => [row.subscription_id, row.invoice_id]));
}

export async function saveClientHold(db: Queryable, subscriptionId: string, invoiceId: string): Promise<void> {
  await db.query('INSERT INTO client_dunning (subscription_id, invoice_id) VALUES ($1, $2) ON CONFLICT (subscription_id) DO NOTHING', [
    subscriptionId,
    invoiceId,
  ]);
}

export async function deleteClientHold(db: Queryable, subscriptionId: string): Promise<void> {
  await db.query('DELETE FROM client_dunning WHERE subscription_id = $1', [subscriptionId]);
}
