-- API keys rotate with an overlap (#14): the new key works at once, the old one until `expires_at`, so a
-- tenant app can deploy the new key before the old one stops. A key names its successor and who made it.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS created_by text;
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS replaced_by uuid REFERENCES api_keys (id);
