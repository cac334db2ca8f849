-- The tenant's invoices to its own clients for their subscriptions, and their payments. Owned by the
-- billing service; money is integer minor units of the invoice's currency. The platform's invoices to
-- tenants live in the master database: a tenant's money and the platform's never share a table.

-- How the tenant bills its clients (one row): its name on invoices, tax, terms, and its own Stripe
-- account, sealed with SECRETS_KEYS (AES-256-GCM) and never returned or logged.
CREATE TABLE IF NOT EXISTS billing_settings (
  singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT billing_settings_singleton CHECK (singleton),
  issuer_name text NOT NULL DEFAULT '' CONSTRAINT billing_settings_issuer_length CHECK (char_length(issuer_name) <= 200),
  -- Basis points: 2000 is 20 %.
  tax_rate_bp integer NOT NULL DEFAULT 0 CONSTRAINT billing_settings_tax_range CHECK (tax_rate_bp BETWEEN 0 AND 10000),
  payment_terms_days integer NOT NULL DEFAULT 14 CONSTRAINT billing_settings_terms_range CHECK (payment_terms_days BETWEEN 0 AND 365),
  stripe_secret_key_sealed text,
  stripe_webhook_secret_sealed text,
  stripe_key_hint text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT billing_settings_stripe_complete CHECK ((stripe_secret_key_sealed IS NULL) = (stripe_webhook_secret_sealed IS NULL))
);

CREATE OR REPLACE TRIGGER billing_settings_set_updated_at BEFORE UPDATE ON billing_settings
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Invoice numbers per year without gaps: taken in the transaction that issues the invoice.
CREATE TABLE IF NOT EXISTS invoice_sequences (
  year integer PRIMARY KEY,
  last_number integer NOT NULL
);

-- Issued in advance at the start of each paid period of a subscription, so an invoice is final when
-- written (no drafts).
CREATE TABLE IF NOT EXISTS invoices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_id uuid NOT NULL,
  subscription_id uuid NOT NULL REFERENCES subscriptions (id),
  number text NOT NULL CONSTRAINT invoices_number_key UNIQUE,
  status text NOT NULL DEFAULT 'finalized' CONSTRAINT invoices_status_check CHECK (status IN ('finalized', 'paid', 'void', 'uncollectible')),
  currency char(3) NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  subtotal_minor bigint NOT NULL,
  tax_rate_bp integer NOT NULL,
  tax_minor bigint NOT NULL,
  total_minor bigint NOT NULL,
  paid_minor bigint NOT NULL DEFAULT 0,
  -- The last subscription change whose proration this invoice carries: the next invoice takes the later ones.
  changes_through bigint NOT NULL DEFAULT 0,
  issued_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  paid_at timestamptz,
  voided_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- A period is invoiced once, however often the close runs.
  CONSTRAINT invoices_one_per_period UNIQUE (subscription_id, period_start),
  CONSTRAINT invoices_period_order CHECK (period_start < period_end),
  CONSTRAINT invoices_total_adds_up CHECK (total_minor = subtotal_minor + tax_minor)
);

CREATE INDEX IF NOT EXISTS invoices_client_idx ON invoices (client_id, period_start DESC);
CREATE INDEX IF NOT EXISTS invoices_issued_idx ON invoices (issued_at DESC, id DESC);

CREATE OR REPLACE TRIGGER invoices_set_updated_at BEFORE UPDATE ON invoices
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE IF NOT EXISTS invoice_lines (
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  position integer NOT NULL,
  kind text NOT NULL CONSTRAINT invoice_lines_kind_check CHECK (kind IN ('subscription', 'proration')),
  description text NOT NULL,
  quantity bigint NOT NULL,
  unit_amount_minor bigint NOT NULL,
  amount_minor bigint NOT NULL,
  source jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (invoice_id, position)
);

-- An issued invoice never changes: only its status moves on, and a paid or void one not even that.
CREATE OR REPLACE FUNCTION invoices_keep_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.client_id, NEW.subscription_id, NEW.number, NEW.currency, NEW.period_start, NEW.period_end, NEW.subtotal_minor,
      NEW.tax_rate_bp, NEW.tax_minor, NEW.total_minor, NEW.changes_through, NEW.issued_at, NEW.due_at)
     IS DISTINCT FROM
     (OLD.client_id, OLD.subscription_id, OLD.number, OLD.currency, OLD.period_start, OLD.period_end, OLD.subtotal_minor,
      OLD.tax_rate_bp, OLD.tax_minor, OLD.total_minor, OLD.changes_through, OLD.issued_at, OLD.due_at) THEN
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

-- Lines are written with their invoice, in its transaction (now() is the transaction's start, so an
-- invoice made in another transaction has another created_at), and never after.
CREATE OR REPLACE FUNCTION invoice_lines_keep_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' OR NOT EXISTS (SELECT 1 FROM invoices WHERE id = NEW.invoice_id AND created_at = now()) THEN
    RAISE EXCEPTION 'the lines of an issued invoice cannot change' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER invoice_lines_keep_final BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION invoice_lines_keep_final();

CREATE TABLE IF NOT EXISTS payments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  provider text NOT NULL CONSTRAINT payments_provider_check CHECK (provider IN ('manual', 'stripe')),
  status text NOT NULL DEFAULT 'pending' CONSTRAINT payments_status_check CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
  amount_minor bigint NOT NULL CONSTRAINT payments_amount_positive CHECK (amount_minor > 0),
  currency char(3) NOT NULL,
  refunded_minor bigint NOT NULL DEFAULT 0,
  -- The PaymentIntent in the tenant's Stripe account, once known.
  provider_ref text CONSTRAINT payments_provider_ref_key UNIQUE,
  -- What a Stripe charge was asked with, so a reconciliation sends the very same request.
  payment_method text,
  provider_customer text,
  reference text CONSTRAINT payments_reference_length CHECK (char_length(reference) <= 200),
  failure_reason text,
  actor_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payments_refund_range CHECK (refunded_minor BETWEEN 0 AND amount_minor)
);

-- At most one payment of an invoice is under way at a time.
CREATE UNIQUE INDEX IF NOT EXISTS payments_one_open_per_invoice ON payments (invoice_id) WHERE status IN ('pending', 'processing');
CREATE INDEX IF NOT EXISTS payments_invoice_idx ON payments (invoice_id, created_at);
CREATE INDEX IF NOT EXISTS payments_open_idx ON payments (created_at) WHERE status IN ('pending', 'processing');

CREATE OR REPLACE TRIGGER payments_set_updated_at BEFORE UPDATE ON payments
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Refunds of payments, shaped as the platform's own (master `refunds`), so one data-access module serves both.
CREATE TABLE IF NOT EXISTS refunds (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_id uuid NOT NULL REFERENCES payments (id),
  amount_minor bigint NOT NULL CONSTRAINT refunds_amount_positive CHECK (amount_minor > 0),
  status text NOT NULL DEFAULT 'pending' CONSTRAINT refunds_status_check CHECK (status IN ('pending', 'succeeded', 'failed')),
  provider_ref text CONSTRAINT refunds_provider_ref_key UNIQUE,
  reason text CONSTRAINT refunds_reason_length CHECK (char_length(reason) <= 500),
  actor_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS refunds_payment_idx ON refunds (payment_id);

CREATE OR REPLACE TRIGGER refunds_set_updated_at BEFORE UPDATE ON refunds
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Events from the tenant's Stripe account already handled: a redelivered event is acknowledged, not applied again.
CREATE TABLE IF NOT EXISTS webhook_events (
  provider text NOT NULL,
  event_id text NOT NULL,
  type text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, event_id)
);

-- Subscriptions dunning has paused for an unpaid invoice (through the subscription service), until paid.
CREATE TABLE IF NOT EXISTS client_dunning (
  subscription_id uuid PRIMARY KEY REFERENCES subscriptions (id),
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  held_at timestamptz NOT NULL DEFAULT now()
);
