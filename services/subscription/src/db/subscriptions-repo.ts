import type { Queryable } from '@codex/shared';

export type SubscriptionStatus = 'trialing' | 'active' | 'paused' | 'canceled';

export interface Subscription {
  id: string;
  clientId: string;
  priceId: string;
  quantity: number;
  status: SubscriptionStatus;
  anchorAt: Date;
  trialEnd: Date | null;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  cancelAtPeriodEnd: boolean;
  pausedAt: Date | null;
  canceledAt: Date | null;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface SubscriptionRow {
  id: string;
  client_id: string;
  price_id: string;
  quantity: number;
  status: SubscriptionStatus;
  anchor_at: Date;
  trial_end: Date | null;
  current_period_start: Date;
  current_period_end: Date;
  cancel_at_period_end: boolean;
  paused_at: Date | null;
  canceled_at: Date | null;
  version: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const toSubscription = (row: SubscriptionRow): Subscription => ({
  id: row.id,
  clientId: row.client_id,
  priceId: row.price_id,
  quantity: row.quantity,
  status: row.status,
  anchorAt: row.anchor_at,
  trialEnd: row.trial_end,
  currentPeriodStart: row.current_period_start,
  currentPeriodEnd: row.current_period_end,
  cancelAtPeriodEnd: row.cancel_at_period_end,
  pausedAt: row.paused_at,
  canceledAt: row.canceled_at,
  version: row.version,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export type SubscriptionState = Omit<Subscription, 'id' | 'version' | 'createdBy' | 'createdAt' | 'updatedAt'>;

/** The changeable columns in order: price_id, quantity, status, anchor_at, trial_end, current_period_start/end, cancel_at_period_end, paused_at, canceled_at. */
const stateValues = (state: SubscriptionState) => [
  state.priceId,
  state.quantity,
  state.status,
  state.anchorAt,
  state.trialEnd,
  state.currentPeriodStart,
  state.currentPeriodEnd,
  state.cancelAtPeriodEnd,
  state.pausedAt,
  state.canceledAt,
];

export async function insertSubscription(db: Queryable, state: SubscriptionState, createdBy: string): Promise<Subscription> {
  const { rows } = await db.query<SubscriptionRow>(
    `INSERT INTO subscriptions (price_id, quantity, status, anchor_at, trial_end, current_period_start, current_period_end,
       cancel_at_period_end, paused_at, canceled_at, client_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
    [...stateValues(state), state.clientId, createdBy],
  );
  return toSubscription(rows[0]!);
}

export async function findSubscription(db: Queryable, id: string, lock = false): Promise<Subscription | undefined> {
  const { rows } = await db.query<SubscriptionRow>(`SELECT * FROM subscriptions WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && toSubscription(rows[0]);
}

export async function listSubscriptions(db: Queryable, filter: { clientId?: string; limit: number; offset: number }): Promise<Subscription[]> {
  const { rows } = await db.query<SubscriptionRow>(
    `SELECT * FROM subscriptions WHERE ($1::uuid IS NULL OR client_id = $1) ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
    [filter.clientId ?? null, filter.limit, filter.offset],
  );
  return rows.map(toSubscription);
}

export async function saveSubscription(db: Queryable, id: string, state: SubscriptionState): Promise<Subscription> {
  const { rows } = await db.query<SubscriptionRow>(
    `UPDATE subscriptions SET price_id = $1, quantity = $2, status = $3, anchor_at = $4, trial_end = $5, current_period_start = $6,
       current_period_end = $7, cancel_at_period_end = $8, paused_at = $9, canceled_at = $10, version = version + 1
     WHERE id = $11 RETURNING *`,
    [...stateValues(state), id],
  );
  return toSubscription(rows[0]!);
}

export async function insertSubscriptionChange(
  db: Queryable,
  change: { subscriptionId: string; kind: string; prorationMinor?: number; currency?: string; details?: object; actorId: string | null },
): Promise<void> {
  await db.query('INSERT INTO subscription_changes (subscription_id, kind, proration_minor, currency, details, actor_id) VALUES ($1, $2, $3, $4, $5, $6)', [
    change.subscriptionId,
    change.kind,
    change.prorationMinor ?? 0,
    change.currency ?? null,
    JSON.stringify(change.details ?? {}),
    change.actorId,
  ]);
}

/** Who paused a subscription: the tenant (`user`), or billing for an unpaid invoice (`unpaid`); null when not paused. */
export async function setPausedFor(db: Queryable, id: string, pausedFor: 'user' | 'unpaid' | null): Promise<void> {
  await db.query('UPDATE subscriptions SET paused_for = $2 WHERE id = $1', [id, pausedFor]);
}

export async function pausedFor(db: Queryable, id: string): Promise<'user' | 'unpaid' | null> {
  const { rows } = await db.query<{ paused_for: 'user' | 'unpaid' | null }>('SELECT paused_for FROM subscriptions WHERE id = $1', [id]);
  return rows[0]?.paused_for ?? null;
}
