-- Why a subscription is paused: by the tenant (`user`), or by billing's dunning for an unpaid invoice
-- (`unpaid`), which only a payment lifts. Billing never resumes a subscription the tenant paused.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS paused_for text CONSTRAINT subscriptions_paused_for_check CHECK (paused_for IN ('user', 'unpaid'));
UPDATE subscriptions SET paused_for = 'user' WHERE status = 'paused' AND paused_for IS NULL;
