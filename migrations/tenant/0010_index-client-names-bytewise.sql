-- Client names sort bytewise after lower(), so one index serves both a name-prefix search and the
-- name order: a prefix search sorted by name then walks the index in order and stops after a page,
-- where the text_pattern_ops index (which cannot serve a locale-aware ORDER BY) made PostgreSQL
-- fetch and sort every match.
CREATE INDEX IF NOT EXISTS clients_name_c_idx ON clients ((lower(name) COLLATE "C"), id) WHERE deleted_at IS NULL;
CREATE STATISTICS IF NOT EXISTS clients_lower_name_c_stats ON ((lower(name) COLLATE "C")) FROM clients;
DROP INDEX IF EXISTS clients_name_idx;
DROP STATISTICS IF EXISTS clients_lower_name_stats;
ANALYZE clients;
