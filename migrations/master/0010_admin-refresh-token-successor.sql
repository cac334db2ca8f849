-- The admins' refresh tokens get the same grace window as tenant users' (see tenant 0013): the
-- immediate parent, reused within it, answers with its successor, kept sealed.
ALTER TABLE admin_refresh_tokens ADD COLUMN IF NOT EXISTS replaced_by uuid;
ALTER TABLE admin_refresh_tokens ADD COLUMN IF NOT EXISTS successor_sealed text;
