-- Platform plans, owned by the subscription service. A plan is a code and a name; what it costs and
-- allows lives in its versions, which are never changed once written: a tenant names the version it is
-- on, so editing a plan's price or limits never reaches its subscribers before their next period.
CREATE TABLE IF NOT EXISTS plans (
  code text PRIMARY KEY CONSTRAINT plans_code_format CHECK (code ~ '^[a-z][a-z0-9_-]{0,39}$'),
  name text NOT NULL CONSTRAINT plans_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
  -- Whether tenants may see it in the catalogue.
  public boolean NOT NULL DEFAULT true,
  latest_version integer NOT NULL DEFAULT 1,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER plans_set_updated_at BEFORE UPDATE ON plans
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE IF NOT EXISTS plan_versions (
  plan_code text NOT NULL REFERENCES plans (code),
  version integer NOT NULL CONSTRAINT plan_versions_version_positive CHECK (version > 0),
  -- Money in integer minor units of an ISO 4217 currency (upper case).
  amount_minor bigint NOT NULL CONSTRAINT plan_versions_amount_nonnegative CHECK (amount_minor >= 0),
  currency char(3) NOT NULL CONSTRAINT plan_versions_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  billing_interval text NOT NULL CONSTRAINT plan_versions_interval_check CHECK (billing_interval IN ('month', 'year')),
  trial_days integer NOT NULL DEFAULT 0 CONSTRAINT plan_versions_trial_days_range CHECK (trial_days BETWEEN 0 AND 365),
  -- Limits; NULL means unlimited (for requests per minute: the platform's RATE_LIMIT_PER_KEY).
  requests_per_minute integer CONSTRAINT plan_versions_rpm_positive CHECK (requests_per_minute > 0),
  api_calls_per_month bigint CONSTRAINT plan_versions_calls_positive CHECK (api_calls_per_month > 0),
  max_users integer CONSTRAINT plan_versions_users_nonnegative CHECK (max_users >= 0),
  max_clients integer CONSTRAINT plan_versions_clients_nonnegative CHECK (max_clients >= 0),
  storage_bytes bigint CONSTRAINT plan_versions_storage_nonnegative CHECK (storage_bytes >= 0),
  features text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plan_code, version)
);

-- Which plan version each tenant is on, for which period, and a change waiting for the period's end.
CREATE TABLE IF NOT EXISTS tenant_plans (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  plan_code text NOT NULL,
  plan_version integer NOT NULL,
  -- The day of month (and month, for yearly plans) periods renew on: the first period's start.
  anchor_at timestamptz NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  pending_plan_code text,
  pending_plan_version integer,
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (plan_code, plan_version) REFERENCES plan_versions (plan_code, version),
  FOREIGN KEY (pending_plan_code, pending_plan_version) REFERENCES plan_versions (plan_code, version),
  CONSTRAINT tenant_plans_period_order CHECK (period_start < period_end)
);

CREATE OR REPLACE TRIGGER tenant_plans_set_updated_at BEFORE UPDATE ON tenant_plans
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Plan changes with their proration, for billing to invoice; append-only.
CREATE TABLE IF NOT EXISTS tenant_plan_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  from_code text NOT NULL,
  from_version integer NOT NULL,
  to_code text NOT NULL,
  to_version integer NOT NULL,
  kind text NOT NULL CONSTRAINT tenant_plan_changes_kind_check CHECK (kind IN ('upgrade', 'downgrade', 'migrate')),
  effective_at timestamptz NOT NULL,
  -- Signed, minor units of `currency`: what the rest of the period costs on the new plan minus the old.
  proration_minor bigint NOT NULL DEFAULT 0,
  currency char(3) NOT NULL,
  forced boolean NOT NULL DEFAULT false,
  actor_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS tenant_plan_changes_tenant_idx ON tenant_plan_changes (tenant_id, created_at DESC);

-- API calls per tenant per plan period, counted by the gateways in batches.
CREATE TABLE IF NOT EXISTS tenant_usage (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  period_start timestamptz NOT NULL,
  api_calls bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, period_start)
);

-- One counter every cache of plans, tenant plans and flags polls: any change bumps it in its transaction,
-- so a change is in force on every instance within one poll interval, with or without Redis.
CREATE TABLE IF NOT EXISTS entitlements_epoch (
  id boolean PRIMARY KEY DEFAULT true CONSTRAINT entitlements_epoch_one_row CHECK (id),
  version bigint NOT NULL DEFAULT 1
);
INSERT INTO entitlements_epoch (id) VALUES (true) ON CONFLICT DO NOTHING;

-- Feature flags: a default, values per plan and per tenant, and a gradual rollout by a stable hash.
CREATE TABLE IF NOT EXISTS feature_flags (
  key text PRIMARY KEY CONSTRAINT feature_flags_key_format CHECK (key ~ '^[a-z][a-z0-9_.-]{0,99}$'),
  description text NOT NULL DEFAULT '' CONSTRAINT feature_flags_description_length CHECK (char_length(description) <= 1000),
  -- The kill switch: when false the flag is off for everyone, whatever else says.
  enabled boolean NOT NULL DEFAULT true,
  default_value boolean NOT NULL DEFAULT false,
  plan_values jsonb NOT NULL DEFAULT '{}'::jsonb,
  tenant_overrides jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- {"percentage": 0-100, "stickiness": "tenant" | "user"} or null
  rollout jsonb,
  -- [{"name", "weight"}] summing to 100, or empty
  variants jsonb NOT NULL DEFAULT '[]'::jsonb,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER feature_flags_set_updated_at BEFORE UPDATE ON feature_flags
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The plan every tenant starts on unless told otherwise. It limits nothing, and its requests per minute are
-- the platform's RATE_LIMIT_PER_KEY, so an install behaves as before plans existed until an operator sets
-- limits (PATCH /api/v1/subscription/plans/free, which writes version 2).
INSERT INTO plans (code, name) VALUES ('free', 'Free') ON CONFLICT DO NOTHING;
INSERT INTO plan_versions (plan_code, version, amount_minor, currency, billing_interval, requests_per_minute, api_calls_per_month, max_users, max_clients, storage_bytes, features)
  VALUES ('free', 1, 0, 'USD', 'month', NULL, NULL, NULL, NULL, NULL, ARRAY['crm.deals', 'crm.contacts', 'content'])
  ON CONFLICT DO NOTHING;

-- Tenants that exist already go on the default plan, their period starting now.
INSERT INTO tenant_plans (tenant_id, plan_code, plan_version, anchor_at, period_start, period_end)
  SELECT id, 'free', 1, now(), now(), now() + interval '1 month' FROM tenants
  ON CONFLICT DO NOTHING;
