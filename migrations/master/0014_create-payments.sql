-- Payments of the platform's invoices, owned by the billing service.

-- What has been paid of an invoice (gross; refunds are recorded on the payments and do not reopen it).
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS paid_minor bigint NOT NULL DEFAULT 0;

-- The platform's provider credentials, sealed with SECRETS_KEYS (AES-256-GCM); never returned or logged.
CREATE TABLE IF NOT EXISTS payment_providers (
  provider text PRIMARY KEY CONSTRAINT payment_providers_provider_check CHECK (provider IN ('stripe')),
  secret_key_sealed text NOT NULL,
  webhook_secret_sealed text NOT NULL,
  -- The key's last four characters, so an operator can tell which key is set.
  key_hint text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER payment_providers_set_updated_at BEFORE UPDATE ON payment_providers
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- How a tenant pays (its Stripe customer and saved payment method, for off-session charges and dunning
-- retries) and where dunning stands for it.
ALTER TABLE tenant_billing_settings
  ADD COLUMN IF NOT EXISTS stripe_customer_id text CONSTRAINT tenant_billing_customer_format CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]{1,200}$'),
  ADD COLUMN IF NOT EXISTS stripe_payment_method_id text CONSTRAINT tenant_billing_method_format CHECK (stripe_payment_method_id ~ '^pm_[A-Za-z0-9_]{1,200}$');

CREATE TABLE IF NOT EXISTS payments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  provider text NOT NULL CONSTRAINT payments_provider_check CHECK (provider IN ('manual', 'stripe')),
  status text NOT NULL DEFAULT 'pending' CONSTRAINT payments_status_check CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
  amount_minor bigint NOT NULL CONSTRAINT payments_amount_positive CHECK (amount_minor > 0),
  currency char(3) NOT NULL,
  refunded_minor bigint NOT NULL DEFAULT 0,
  -- The provider's id of the charge (a PaymentIntent), once known.
  provider_ref text CONSTRAINT payments_provider_ref_key UNIQUE,
  -- What a Stripe charge was asked with: a reconciliation must send the very same request for Stripe to
  -- answer it from its idempotency record.
  payment_method text,
  provider_customer text,
  -- A manual payment's reference (bank transfer id, cheque number).
  reference text CONSTRAINT payments_reference_length CHECK (char_length(reference) <= 200),
  failure_reason text,
  -- Who started it: an admin, or the dunning job (null).
  actor_id text,
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

-- Provider webhook events already handled: a redelivered event is acknowledged and not applied again.
CREATE TABLE IF NOT EXISTS webhook_events (
  provider text NOT NULL,
  event_id text NOT NULL,
  type text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, event_id)
);
