-- Live platform configuration (#14): every change is a new version (who, when, the whole settings), the
-- newest is in force, and a rollback is a new version with an old one's settings. Services read the newest
-- version number each second and reload when it moves, so a change applies without a restart.
CREATE TABLE IF NOT EXISTS platform_config_versions (
  version integer PRIMARY KEY CONSTRAINT platform_config_versions_positive CHECK (version > 0),
  settings jsonb NOT NULL,
  changed_by text,
  -- The version a rollback restored, if this one is a rollback.
  restored_from integer,
  changed_at timestamptz NOT NULL DEFAULT now()
);
