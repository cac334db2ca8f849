import { pageTotal, type Queryable } from '@codex/shared';

export interface CreditNote {
  id: string;
  invoiceId: string;
  tenantId: string;
  number: string;
  currency: string;
  amountMinor: number;
  reason: string;
  issuedAt: string;
}

interface CreditNoteRow {
  id: string;
  invoice_id: string;
  tenant_id: string;
  number: string;
  currency: string;
  amount_minor: string;
  reason: string;
  issued_at: Date;
  total_count?: string;
}

const toCreditNote = (row: CreditNoteRow): CreditNote => ({
  id: row.id,
  invoiceId: row.invoice_id,
  tenantId: row.tenant_id,
  number: row.number,
  currency: row.currency,
  amountMinor: Number(row.amount_minor),
  reason: row.reason,
  issuedAt: row.issued_at.toISOString(),
});

export async function insertCreditNote(
  tx: Queryable,
  note: { invoiceId: string; tenantId: string; number: string; currency: string; amountMinor: number; reason: string; actorId: string },
): Promise<CreditNote> {
  const { rows } = await tx.query<CreditNoteRow>(
    `INSERT INTO credit_notes (invoice_id, tenant_id, number, currency, amount_minor, reason, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [note.invoiceId, note.tenantId, note.number, note.currency, note.amountMinor, note.reason, note.actorId],
  );
  return toCreditNote(rows[0]!);
}

/** Takes a credit off an invoice; one that payments and credits now cover is paid. */
export async function addToInvoiceCredited(tx: Queryable, invoiceId: string, amountMinor: number): Promise<void> {
  await tx.query(
    `UPDATE invoices SET credited_minor = credited_minor + $2,
            status = CASE WHEN paid_minor + credited_minor + $2 >= total_minor AND status IN ('finalized', 'uncollectible') THEN 'paid' ELSE status END,
            paid_at = CASE WHEN paid_minor + credited_minor + $2 >= total_minor AND status IN ('finalized', 'uncollectible') THEN now() ELSE paid_at END
      WHERE id = $1`,
    [invoiceId, amountMinor],
  );
}

export async function listCreditNotes(db: Queryable, filter: { tenantId?: string; invoiceId?: string; limit: number; offset: number }) {
  const where = 'WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR invoice_id = $2)';
  const values = [filter.tenantId ?? null, filter.invoiceId ?? null];
  const { rows } = await db.query<CreditNoteRow>(
    `SELECT *, count(*) OVER () AS total_count FROM credit_notes ${where} ORDER BY issued_at DESC, id DESC LIMIT $3 OFFSET $4`,
    [...values, filter.limit, filter.offset],
  );
  return {
    items: rows.map(toCreditNote),
    total: await pageTotal(db, rows, filter.offset, `SELECT count(*) AS total_count FROM credit_notes ${where}`, values),
  };
}
