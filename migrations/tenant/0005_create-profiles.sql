-- Each user's own profile. Owned by the client service.
CREATE TABLE IF NOT EXISTS profiles (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  display_name text CONSTRAINT profiles_display_name_length CHECK (char_length(display_name) <= 200),
  avatar_url text CONSTRAINT profiles_avatar_url_length CHECK (char_length(avatar_url) <= 2048),
  locale text CONSTRAINT profiles_locale_length CHECK (char_length(locale) <= 35),
  timezone text CONSTRAINT profiles_timezone_length CHECK (char_length(timezone) <= 64),
  preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER profiles_set_updated_at BEFORE UPDATE ON profiles
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
