-- Contact import (CRM-owned tables, fed by the client service's import over REST).
-- Imports upsert contacts by external id, else by email, so both are unique among live contacts,
-- as a CRM's users expect of a person's email. On a database that already holds two live contacts
-- with the same email, the index below fails with the duplicated key named: merge them, then rerun.
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS external_id text
  CONSTRAINT contacts_external_id_length CHECK (char_length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX IF NOT EXISTS contacts_external_id_key ON contacts (external_id) WHERE external_id IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS contacts_email_key ON contacts (lower(email)) WHERE email IS NOT NULL AND deleted_at IS NULL;

-- An all-or-nothing (atomic) contact import arrives in batches; its rows wait here until the last
-- batch, then are applied in one transaction. Retrying a batch stores nothing twice (key: line).
CREATE TABLE IF NOT EXISTS contact_import_rows (
  import_id uuid NOT NULL,
  line integer NOT NULL,
  record jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (import_id, line)
);
CREATE INDEX IF NOT EXISTS contact_import_rows_created_idx ON contact_import_rows (created_at);

ALTER TABLE import_jobs DROP CONSTRAINT IF EXISTS import_jobs_entity_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_entity_check CHECK (entity IN ('clients', 'contacts'));
