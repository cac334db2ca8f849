-- Statistics on the searched expressions: without them PostgreSQL guesses 0.5 % of rows for a
-- prefix search on lower(name) / lower(email) and, at 1 M clients, walks the whole created_at
-- index instead of the prefix index (seconds instead of a millisecond).
CREATE STATISTICS IF NOT EXISTS clients_lower_name_stats ON (lower(name)) FROM clients;
CREATE STATISTICS IF NOT EXISTS clients_lower_email_stats ON (lower(email)) FROM clients;
ANALYZE clients;
