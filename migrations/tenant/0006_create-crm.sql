-- CRM: pipelines and their ordered stages, contacts, deals with stage history, activities.
-- Owned by the CRM service. Links to clients are checked through the client service, not by
-- foreign keys, because each table has one owning service.
CREATE TABLE IF NOT EXISTS pipelines (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CONSTRAINT pipelines_name_key UNIQUE CONSTRAINT pipelines_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS pipelines_one_default ON pipelines (is_default) WHERE is_default;

CREATE TABLE IF NOT EXISTS stages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_id uuid NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT stages_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
  position integer NOT NULL,
  kind text NOT NULL DEFAULT 'open' CONSTRAINT stages_kind_check CHECK (kind IN ('open', 'won', 'lost')),
  probability integer NOT NULL DEFAULT 0 CONSTRAINT stages_probability_range CHECK (probability BETWEEN 0 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stages_name_key UNIQUE (pipeline_id, name)
);
CREATE INDEX IF NOT EXISTS stages_pipeline_position_idx ON stages (pipeline_id, position);

CREATE TABLE IF NOT EXISTS contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_id uuid,
  first_name text NOT NULL DEFAULT '' CONSTRAINT contacts_first_name_length CHECK (char_length(first_name) <= 100),
  last_name text NOT NULL DEFAULT '' CONSTRAINT contacts_last_name_length CHECK (char_length(last_name) <= 100),
  email text CONSTRAINT contacts_email_length CHECK (char_length(email) <= 254),
  phone text CONSTRAINT contacts_phone_length CHECK (char_length(phone) <= 50),
  title text CONSTRAINT contacts_title_length CHECK (char_length(title) <= 100),
  owner_id uuid,
  version integer NOT NULL DEFAULT 1,
  deleted_at timestamptz,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS contacts_client_idx ON contacts (client_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS contacts_created_idx ON contacts (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS contacts_name_idx ON contacts (lower(last_name || ' ' || first_name) text_pattern_ops) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS deals (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title text NOT NULL CONSTRAINT deals_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
  value_minor bigint NOT NULL DEFAULT 0 CONSTRAINT deals_value_nonnegative CHECK (value_minor >= 0),
  currency text NOT NULL CONSTRAINT deals_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  pipeline_id uuid NOT NULL REFERENCES pipelines (id),
  stage_id uuid NOT NULL REFERENCES stages (id),
  status text NOT NULL DEFAULT 'open' CONSTRAINT deals_status_check CHECK (status IN ('open', 'won', 'lost')),
  lost_reason text CONSTRAINT deals_lost_reason_length CHECK (char_length(lost_reason) <= 500),
  client_id uuid,
  contact_id uuid REFERENCES contacts (id),
  owner_id uuid,
  expected_close_date date,
  probability integer CONSTRAINT deals_probability_range CHECK (probability BETWEEN 0 AND 100),
  closed_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS deals_stage_idx ON deals (pipeline_id, stage_id, status);
CREATE INDEX IF NOT EXISTS deals_created_idx ON deals (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS deals_owner_idx ON deals (owner_id, created_at DESC);
CREATE INDEX IF NOT EXISTS deals_client_idx ON deals (client_id);

CREATE TABLE IF NOT EXISTS deal_stage_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deal_id uuid NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
  from_stage_id uuid REFERENCES stages (id),
  to_stage_id uuid NOT NULL REFERENCES stages (id),
  moved_by uuid,
  moved_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS deal_stage_history_deal_idx ON deal_stage_history (deal_id, moved_at);

CREATE TABLE IF NOT EXISTS activities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type text NOT NULL CONSTRAINT activities_type_check CHECK (type IN ('call', 'email', 'meeting', 'note', 'task')),
  subject text NOT NULL CONSTRAINT activities_subject_length CHECK (char_length(subject) BETWEEN 1 AND 200),
  body text CONSTRAINT activities_body_length CHECK (char_length(body) <= 10000),
  due_at timestamptz,
  completed_at timestamptz,
  contact_id uuid REFERENCES contacts (id),
  deal_id uuid REFERENCES deals (id) ON DELETE CASCADE,
  owner_id uuid,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT activities_linked CHECK (contact_id IS NOT NULL OR deal_id IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS activities_contact_idx ON activities (contact_id, created_at DESC);
CREATE INDEX IF NOT EXISTS activities_deal_idx ON activities (deal_id, created_at DESC);
CREATE INDEX IF NOT EXISTS activities_open_tasks_idx ON activities (owner_id, due_at) WHERE completed_at IS NULL;

CREATE OR REPLACE TRIGGER pipelines_set_updated_at BEFORE UPDATE ON pipelines
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER stages_set_updated_at BEFORE UPDATE ON stages
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER contacts_set_updated_at BEFORE UPDATE ON contacts
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER deals_set_updated_at BEFORE UPDATE ON deals
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER activities_set_updated_at BEFORE UPDATE ON activities
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
