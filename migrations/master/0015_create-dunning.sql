-- Dunning: chasing a tenant's overdue invoices (billing service), up to suspension through the admin service.

-- Why a suspended tenant is suspended: an admin decided it, or dunning did for an unpaid invoice. Paying
-- lifts only the second; the column is read only while the tenant is suspended.
ALTER TABLE tenants
  ADD COLUMN IF NOT EXISTS suspended_for text CONSTRAINT tenants_suspended_for_check CHECK (suspended_for IN ('admin', 'unpaid'));

-- Tenants suspended before this column existed were suspended by an admin.
UPDATE tenants SET suspended_for = 'admin' WHERE status = 'suspended' AND suspended_for IS NULL;

-- Where dunning stands for each tenant with an overdue invoice; the row goes when nothing is overdue.
-- past_due: overdue, failed charges are retried on DUNNING_RETRY_DAYS; grace: retries are spent, the
-- tenant keeps working until DUNNING_GRACE_DAYS; suspended: the admin service suspended it.
CREATE TABLE IF NOT EXISTS tenant_dunning (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  state text NOT NULL CONSTRAINT tenant_dunning_state_check CHECK (state IN ('past_due', 'grace', 'suspended')),
  -- The oldest overdue invoice, which the state is counted from.
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  overdue_since timestamptz NOT NULL,
  -- When the tenant entered this state.
  state_since timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS tenant_dunning_state_idx ON tenant_dunning (state, overdue_since);

CREATE OR REPLACE TRIGGER tenant_dunning_set_updated_at BEFORE UPDATE ON tenant_dunning
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The dunning job looks for finalized invoices past due and not fully paid.
CREATE INDEX IF NOT EXISTS invoices_unpaid_due_idx ON invoices (due_at) WHERE status = 'finalized';
