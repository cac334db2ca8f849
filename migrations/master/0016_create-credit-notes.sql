-- Corrections of finalized platform invoices: a credit note takes an amount off what an invoice asks
-- for, without changing the invoice (it stays as issued). What is still owed on an invoice is
-- total − paid − credited; it is paid once payments and credit notes together cover its total.
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS credited_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_credit_range;
ALTER TABLE invoices ADD CONSTRAINT invoices_credit_range CHECK (credited_minor >= 0 AND credited_minor <= greatest(total_minor, 0));

CREATE TABLE IF NOT EXISTS credit_notes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  -- CN-<year>-<6 digits>, numbered without gaps per year like invoices (issuer `platform-credit-notes`).
  number text NOT NULL CONSTRAINT credit_notes_number_key UNIQUE,
  currency char(3) NOT NULL,
  amount_minor bigint NOT NULL CONSTRAINT credit_notes_amount_positive CHECK (amount_minor > 0),
  reason text NOT NULL CONSTRAINT credit_notes_reason_length CHECK (char_length(reason) BETWEEN 1 AND 500),
  actor_id text NOT NULL,
  issued_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS credit_notes_invoice_idx ON credit_notes (invoice_id, issued_at);
CREATE INDEX IF NOT EXISTS credit_notes_issued_idx ON credit_notes (issued_at DESC, id DESC);

-- A credit note is a document: once issued it never changes and is never removed.
CREATE OR REPLACE FUNCTION credit_notes_keep_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'credit note % is final and cannot change', OLD.number USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE OR REPLACE TRIGGER credit_notes_keep_final BEFORE UPDATE OR DELETE ON credit_notes
  FOR EACH ROW EXECUTE FUNCTION credit_notes_keep_final();
