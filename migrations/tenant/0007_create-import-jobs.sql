-- Client imports: one row per upload, with progress and the first per-row errors.
CREATE TABLE IF NOT EXISTS import_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  entity text NOT NULL CONSTRAINT import_jobs_entity_check CHECK (entity IN ('clients')),
  format text NOT NULL CONSTRAINT import_jobs_format_check CHECK (format IN ('csv', 'jsonl')),
  atomic boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'running' CONSTRAINT import_jobs_status_check CHECK (status IN ('running', 'completed', 'failed')),
  rows_read integer NOT NULL DEFAULT 0,
  rows_inserted integer NOT NULL DEFAULT 0,
  rows_updated integer NOT NULL DEFAULT 0,
  rows_failed integer NOT NULL DEFAULT 0,
  -- The first errors, { line, field?, message }; the count is rows_failed.
  errors jsonb NOT NULL DEFAULT '[]'::jsonb,
  failure text,
  created_by uuid,
  finished_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS import_jobs_created_idx ON import_jobs (created_at DESC);

CREATE OR REPLACE TRIGGER import_jobs_set_updated_at BEFORE UPDATE ON import_jobs
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
