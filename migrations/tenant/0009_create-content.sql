-- Content of the tenant app (pages, posts, snippets). Owned by the client service.
-- Every save keeps a version; publishing points at one version, now or from publish_at on.
CREATE TABLE IF NOT EXISTS content_entries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type text NOT NULL CONSTRAINT content_entries_type_format CHECK (type ~ '^[a-z][a-z0-9_-]{0,39}$'),
  slug text NOT NULL CONSTRAINT content_entries_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,199}$'),
  title text NOT NULL CONSTRAINT content_entries_title_length CHECK (char_length(title) BETWEEN 1 AND 300),
  body_format text NOT NULL CONSTRAINT content_entries_body_format_check CHECK (body_format IN ('markdown', 'json')),
  body jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  published_version integer,
  publish_at timestamptz,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT content_entries_slug_key UNIQUE (type, slug)
);
CREATE INDEX IF NOT EXISTS content_entries_type_idx ON content_entries (type, updated_at DESC);

CREATE TABLE IF NOT EXISTS content_versions (
  entry_id uuid NOT NULL REFERENCES content_entries (id) ON DELETE CASCADE,
  version integer NOT NULL,
  title text NOT NULL,
  body_format text NOT NULL,
  body jsonb NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entry_id, version)
);

CREATE OR REPLACE TRIGGER content_entries_set_updated_at BEFORE UPDATE ON content_entries
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
