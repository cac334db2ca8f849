-- The CRM now imports contacts itself (the import kit in shared/ runs in the service that owns the
-- entity), so an atomic contact import is one transaction there and needs no staging table.
-- import_jobs is written by the shared import kit in each importing service, each for its own
-- entity only (clients: client service; contacts: CRM).
DROP TABLE IF EXISTS contact_import_rows;
CREATE INDEX IF NOT EXISTS import_jobs_entity_created_idx ON import_jobs (entity, created_at DESC, id DESC);
