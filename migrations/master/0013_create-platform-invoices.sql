-- The platform's invoices to its tenants, owned by the billing service. Money is integer minor units of
-- the invoice's currency throughout.

-- Metered overage in a plan: calls beyond `included_api_calls` in a period cost `overage_unit_amount_minor`
-- per started block of `overage_unit_calls`. Independent of `api_calls_per_month`, the gateway's hard cap.
ALTER TABLE plan_versions
  ADD COLUMN IF NOT EXISTS included_api_calls bigint CONSTRAINT plan_versions_included_nonnegative CHECK (included_api_calls >= 0),
  ADD COLUMN IF NOT EXISTS overage_unit_amount_minor bigint CONSTRAINT plan_versions_overage_amount_nonnegative CHECK (overage_unit_amount_minor >= 0),
  ADD COLUMN IF NOT EXISTS overage_unit_calls bigint CONSTRAINT plan_versions_overage_unit_positive CHECK (overage_unit_calls > 0);

ALTER TABLE plan_versions DROP CONSTRAINT IF EXISTS plan_versions_overage_complete;
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_overage_complete
  CHECK ((included_api_calls IS NULL) = (overage_unit_amount_minor IS NULL) AND (included_api_calls IS NULL) = (overage_unit_calls IS NULL));

-- How the platform bills each tenant.
CREATE TABLE IF NOT EXISTS tenant_billing_settings (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  -- Basis points: 2000 is 20 %.
  tax_rate_bp integer NOT NULL DEFAULT 0 CONSTRAINT tenant_billing_tax_range CHECK (tax_rate_bp BETWEEN 0 AND 10000),
  payment_terms_days integer NOT NULL DEFAULT 14 CONSTRAINT tenant_billing_terms_range CHECK (payment_terms_days BETWEEN 0 AND 365),
  billing_email text CONSTRAINT tenant_billing_email_length CHECK (char_length(billing_email) <= 254),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER tenant_billing_settings_set_updated_at BEFORE UPDATE ON tenant_billing_settings
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Invoice numbers per issuer and year, without gaps: a number is taken in the transaction that finalizes
-- the invoice, so a rolled-back invoice gives its number back.
CREATE TABLE IF NOT EXISTS invoice_sequences (
  issuer text NOT NULL,
  year integer NOT NULL,
  last_number integer NOT NULL,
  PRIMARY KEY (issuer, year)
);

CREATE TABLE IF NOT EXISTS invoices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  number text UNIQUE,
  status text NOT NULL DEFAULT 'draft' CONSTRAINT invoices_status_check CHECK (status IN ('draft', 'finalized', 'paid', 'void', 'uncollectible')),
  currency char(3) NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  plan_code text NOT NULL,
  plan_version integer NOT NULL,
  subtotal_minor bigint NOT NULL,
  tax_rate_bp integer NOT NULL,
  tax_minor bigint NOT NULL,
  total_minor bigint NOT NULL,
  issued_at timestamptz,
  due_at timestamptz,
  paid_at timestamptz,
  voided_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- A period is invoiced once, however often the close runs.
  CONSTRAINT invoices_one_per_period UNIQUE (tenant_id, period_start),
  CONSTRAINT invoices_period_order CHECK (period_start < period_end),
  CONSTRAINT invoices_total_adds_up CHECK (total_minor = subtotal_minor + tax_minor),
  CONSTRAINT invoices_numbered_when_final CHECK ((status = 'draft') = (number IS NULL))
);

CREATE INDEX IF NOT EXISTS invoices_status_idx ON invoices (status, due_at);
CREATE INDEX IF NOT EXISTS invoices_issued_idx ON invoices (issued_at DESC);

CREATE OR REPLACE TRIGGER invoices_set_updated_at BEFORE UPDATE ON invoices
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE IF NOT EXISTS invoice_lines (
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  position integer NOT NULL,
  kind text NOT NULL CONSTRAINT invoice_lines_kind_check CHECK (kind IN ('plan', 'proration', 'overage')),
  description text NOT NULL,
  quantity bigint NOT NULL,
  unit_amount_minor bigint NOT NULL,
  amount_minor bigint NOT NULL,
  -- What the line was computed from (plan version, change id, calls counted), for the recompute check.
  source jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (invoice_id, position)
);

-- A finalized invoice never changes: only its status moves on (paid, void, uncollectible), and its lines
-- are fixed. Corrections are credit notes.
CREATE OR REPLACE FUNCTION invoices_keep_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'draft' AND (
       NEW.tenant_id, NEW.number, NEW.currency, NEW.period_start, NEW.period_end, NEW.plan_code, NEW.plan_version,
       NEW.subtotal_minor, NEW.tax_rate_bp, NEW.tax_minor, NEW.total_minor, NEW.issued_at, NEW.due_at
     ) IS DISTINCT FROM (
       OLD.tenant_id, OLD.number, OLD.currency, OLD.period_start, OLD.period_end, OLD.plan_code, OLD.plan_version,
       OLD.subtotal_minor, OLD.tax_rate_bp, OLD.tax_minor, OLD.total_minor, OLD.issued_at, OLD.due_at
     ) THEN
    RAISE EXCEPTION 'invoice % is final and cannot change', OLD.number USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF OLD.status IN ('paid', 'void') AND NEW.status <> OLD.status THEN
    RAISE EXCEPTION 'invoice % is % and cannot become %', OLD.number, OLD.status, NEW.status USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER invoices_keep_final BEFORE UPDATE ON invoices
  FOR EACH ROW EXECUTE FUNCTION invoices_keep_final();

CREATE OR REPLACE FUNCTION invoice_lines_keep_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM invoices WHERE id = coalesce(NEW.invoice_id, OLD.invoice_id) AND status <> 'draft') THEN
    RAISE EXCEPTION 'the lines of a final invoice cannot change' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN coalesce(NEW, OLD);
END
$$;

CREATE OR REPLACE TRIGGER invoice_lines_keep_final BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION invoice_lines_keep_final();
