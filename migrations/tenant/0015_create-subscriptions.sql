-- The tenant's own catalogue and its clients' subscriptions. Owned by the subscription service.
CREATE TABLE IF NOT EXISTS products (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CONSTRAINT products_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CONSTRAINT products_description_length CHECK (char_length(description) <= 2000),
  active boolean NOT NULL DEFAULT true,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS products_created_idx ON products (created_at DESC, id DESC);
CREATE OR REPLACE TRIGGER products_set_updated_at BEFORE UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A price never changes once written (subscriptions name it); a new price replaces it, the old one is deactivated.
CREATE TABLE IF NOT EXISTS prices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  product_id uuid NOT NULL REFERENCES products (id),
  amount_minor bigint NOT NULL CONSTRAINT prices_amount_nonnegative CHECK (amount_minor >= 0),
  currency char(3) NOT NULL CONSTRAINT prices_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  -- NULL: a one-off price.
  billing_interval text CONSTRAINT prices_interval_check CHECK (billing_interval IN ('month', 'year')),
  trial_days integer NOT NULL DEFAULT 0 CONSTRAINT prices_trial_days_range CHECK (trial_days BETWEEN 0 AND 365),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS prices_product_idx ON prices (product_id, created_at);

CREATE TABLE IF NOT EXISTS subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- A client of the client service, checked over REST when the subscription is made.
  client_id uuid NOT NULL,
  price_id uuid NOT NULL REFERENCES prices (id),
  quantity integer NOT NULL DEFAULT 1 CONSTRAINT subscriptions_quantity_range CHECK (quantity BETWEEN 1 AND 1000000),
  status text NOT NULL CONSTRAINT subscriptions_status_check CHECK (status IN ('trialing', 'active', 'paused', 'canceled')),
  -- Periods renew on the anchor's day of month (see shared/src/plans/periods.ts).
  anchor_at timestamptz NOT NULL,
  trial_end timestamptz,
  current_period_start timestamptz NOT NULL,
  current_period_end timestamptz NOT NULL,
  cancel_at_period_end boolean NOT NULL DEFAULT false,
  paused_at timestamptz,
  canceled_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT subscriptions_period_order CHECK (current_period_start < current_period_end)
);
CREATE INDEX IF NOT EXISTS subscriptions_client_idx ON subscriptions (client_id, created_at DESC);
CREATE INDEX IF NOT EXISTS subscriptions_created_idx ON subscriptions (created_at DESC, id DESC);
CREATE OR REPLACE TRIGGER subscriptions_set_updated_at BEFORE UPDATE ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Changes of price or quantity with their proration, for billing; append-only.
CREATE TABLE IF NOT EXISTS subscription_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subscription_id uuid NOT NULL REFERENCES subscriptions (id),
  kind text NOT NULL CONSTRAINT subscription_changes_kind_check CHECK (kind IN ('created', 'trial_ended', 'paused', 'resumed', 'canceled', 'cancel_scheduled', 'price_changed', 'quantity_changed')),
  proration_minor bigint NOT NULL DEFAULT 0,
  currency char(3),
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  actor_id uuid,
  occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS subscription_changes_subscription_idx ON subscription_changes (subscription_id, occurred_at);
