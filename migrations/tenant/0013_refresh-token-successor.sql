-- Two tabs refreshing at once present the same refresh token. Within a short grace window the
-- immediate parent answers with the successor it already made (kept sealed here, never in plain
-- text), instead of being taken for a replayed, stolen token; older reuse still revokes the family.
ALTER TABLE refresh_tokens ADD COLUMN IF NOT EXISTS replaced_by uuid;
ALTER TABLE refresh_tokens ADD COLUMN IF NOT EXISTS successor_sealed text;
