import {
  AppError,
  assertClientExists,
  ConflictError,
  ErrorCode,
  NotFoundError,
  prorationOfChange,
  ValidationError,
  type Actor,
  type ServiceClients,
  type TenantPoolCache,
} from '@codex/shared';
import { findPrice, findPrices, findProduct, insertPrice, insertProduct, listProducts, updateProduct, type Product } from '../db/catalogue-repo';
import {
  findSubscription,
  insertSubscription,
  insertSubscriptionChange,
  listSubscriptions,
  pausedFor,
  saveSubscription,
  setPausedFor,
  type Subscription,
  type SubscriptionState,
} from '../db/subscriptions-repo';
import { activated, canceled, paused, resumed, startSubscription, subscriptionAt, TRANSITIONS, type SubscriptionAction } from './subscription-lifecycle';

export interface CatalogueDeps {
  tenants: TenantPoolCache;
  clients: ServiceClients;
}

const PRODUCT_NOT_FOUND = () => new NotFoundError('Product not found', ErrorCode.PRODUCT_NOT_FOUND);
const SUBSCRIPTION_NOT_FOUND = () => new NotFoundError('Subscription not found', ErrorCode.SUBSCRIPTION_NOT_FOUND);

export const products = (deps: CatalogueDeps, actor: Actor, page: { limit: number; offset: number }) =>
  deps.tenants.withConnection(actor.tenantId, (db) => listProducts(db, page));

export async function product(deps: CatalogueDeps, actor: Actor, id: string): Promise<Product> {
  const found = await deps.tenants.withConnection(actor.tenantId, (db) => findProduct(db, id));
  if (!found) throw PRODUCT_NOT_FOUND();
  return found;
}

export function createProduct(deps: CatalogueDeps, actor: Actor, input: { name: string; description: string }): Promise<Product> {
  return deps.tenants.transaction(actor.tenantId, async (tx) => (await findProduct(tx, await insertProduct(tx, input)))!);
}

export function changeProduct(
  deps: CatalogueDeps,
  actor: Actor,
  id: string,
  version: number,
  changes: { name?: string; description?: string; active?: boolean },
) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    if (!(await findProduct(tx, id))) throw PRODUCT_NOT_FOUND();
    if (!(await updateProduct(tx, id, version, changes)))
      throw new ConflictError('The product changed since you read it', undefined, ErrorCode.VERSION_CONFLICT);
    return (await findProduct(tx, id))!;
  });
}

export function addPrice(deps: CatalogueDeps, actor: Actor, productId: string, input: Parameters<typeof insertPrice>[2]) {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    if (!(await findProduct(tx, productId))) throw PRODUCT_NOT_FOUND();
    return insertPrice(tx, productId, input);
  });
}

/** A subscription as it stands now (a trial that ended is active, a period that ended renewed), with its price. */
export interface SubscriptionView extends Subscription {
  price: { amountMinor: number; currency: string; interval: 'month' | 'year' };
}

async function recurringPrice(db: Parameters<typeof findPrice>[0], priceId: string, field = 'priceId') {
  const price = await findPrice(db, priceId);
  if (!price?.active) throw new ValidationError('No such active price', [{ path: `body.${field}`, message: 'no such active price' }]);
  if (!price.interval) throw new ValidationError('A one-off price cannot be subscribed to', [{ path: `body.${field}`, message: 'must be a recurring price' }]);
  return { ...price, interval: price.interval };
}

/** Subscriptions as they stand at `now`, with their prices (read in one query). */
async function views(db: Parameters<typeof findPrice>[0], found: Subscription[], now: Date): Promise<SubscriptionView[]> {
  const prices = new Map((await findPrices(db, [...new Set(found.map((s) => s.priceId))])).map((price) => [price.id, price]));
  return found.map((subscription) => {
    const price = prices.get(subscription.priceId)!;
    // Subscriptions are made only on recurring prices.
    const interval = price.interval!;
    return { ...subscription, ...subscriptionAt(subscription, interval, now), price: { amountMinor: price.amountMinor, currency: price.currency, interval } };
  });
}

const view = async (db: Parameters<typeof findPrice>[0], subscription: Subscription, now: Date) => (await views(db, [subscription], now))[0]!;

export async function subscribe(
  deps: CatalogueDeps,
  actor: Actor,
  input: { clientId: string; priceId: string; quantity: number; trialDays?: number },
  now = new Date(),
): Promise<SubscriptionView> {
  await assertClientExists(deps.clients, actor, input.clientId);
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    const price = await recurringPrice(tx, input.priceId);
    const created = await insertSubscription(
      tx,
      startSubscription({ ...input, trialDays: input.trialDays ?? price.trialDays, interval: price.interval }, now),
      actor.userId,
    );
    await insertSubscriptionChange(tx, { subscriptionId: created.id, kind: 'created', actorId: actor.userId });
    return view(tx, created, now);
  });
}

export async function subscription(deps: CatalogueDeps, actor: Actor, id: string, now = new Date()): Promise<SubscriptionView> {
  return deps.tenants.withConnection(actor.tenantId, async (db) => {
    const found = await findSubscription(db, id);
    if (!found) throw SUBSCRIPTION_NOT_FOUND();
    return view(db, found, now);
  });
}

export function subscriptions(deps: CatalogueDeps, actor: Actor, filter: { clientId?: string; limit: number; offset: number }, now = new Date()) {
  return deps.tenants.withConnection(actor.tenantId, async (db) => views(db, await listSubscriptions(db, filter), now));
}

const CHANGE_KIND: Record<SubscriptionAction, string> = {
  activate: 'trial_ended',
  pause: 'paused',
  resume: 'resumed',
  cancel: 'canceled',
  change: 'price_changed',
};

/**
 * One lifecycle step, on the subscription as it stands now, locked for the
 * change: 409 SUBSCRIPTION_STATE when the step does not apply to its state.
 */
export async function act(
  deps: CatalogueDeps,
  actor: Actor,
  id: string,
  action: SubscriptionAction,
  options: { atPeriodEnd?: boolean; priceId?: string; quantity?: number } = {},
  now = new Date(),
): Promise<SubscriptionView> {
  return deps.tenants.transaction(actor.tenantId, async (tx) => {
    const stored = await findSubscription(tx, id, true);
    if (!stored) throw SUBSCRIPTION_NOT_FOUND();
    const price = await recurringPrice(tx, stored.priceId);
    const current = subscriptionAt(stored, price.interval, now);
    if (!(TRANSITIONS[action] as readonly string[]).includes(current.status) || (action === 'cancel' && current.cancelAtPeriodEnd && options.atPeriodEnd))
      throw new AppError(ErrorCode.SUBSCRIPTION_STATE, 409, `A ${current.status} subscription cannot ${action}`, { status: current.status });
    let next: SubscriptionState;
    let prorationMinor = 0;
    let kind = CHANGE_KIND[action];
    if (action === 'activate') next = activated(current, price.interval, now);
    else if (action === 'pause') next = paused(current, now);
    else if (action === 'resume') next = resumed(current, price.interval, now);
    else if (action === 'cancel') {
      next = canceled(current, options.atPeriodEnd ?? false, now);
      if (next.status !== 'canceled') kind = 'cancel_scheduled';
    } else {
      const newPrice = options.priceId ? await recurringPrice(tx, options.priceId) : price;
      if (newPrice.currency !== price.currency || newPrice.interval !== price.interval)
        throw new ValidationError('A new price must have the same currency and interval', [
          { path: 'body.priceId', message: 'must match the currency and interval' },
        ]);
      const quantity = options.quantity ?? current.quantity;
      next = { ...current, priceId: newPrice.id, quantity };
      if (current.status === 'active')
        prorationMinor = prorationOfChange(
          price.amountMinor * current.quantity,
          newPrice.amountMinor * quantity,
          { start: current.currentPeriodStart, end: current.currentPeriodEnd },
          now,
        );
      if (!options.priceId) kind = 'quantity_changed';
    }
    const saved = await saveSubscription(tx, id, next);
    // A tenant's own pause is never lifted by billing; resuming lifts any pause, billing's too.
    if (action === 'pause') await setPausedFor(tx, id, 'user');
    if (action === 'resume') await setPausedFor(tx, id, null);
    // `before` lets billing tell the price and quantity in force at any earlier instant.
    await insertSubscriptionChange(tx, {
      subscriptionId: id,
      kind,
      prorationMinor,
      currency: price.currency,
      actorId: actor.userId,
      details: { ...options, before: { priceId: current.priceId, quantity: current.quantity } },
    });
    return view(tx, saved, now);
  });
}

/**
 * Billing's dunning: pauses a subscription whose invoice stays unpaid past
 * the grace period (`hold`), or resumes one it paused once paid. Idempotent;
 * a subscription the tenant paused, or one canceled, is left as it is.
 */
export async function setBillingHold(
  deps: CatalogueDeps,
  tenantId: string,
  id: string,
  hold: boolean,
  now = new Date(),
): Promise<{ subscription: SubscriptionView; changed: boolean }> {
  return deps.tenants.transaction(tenantId, async (tx) => {
    const stored = await findSubscription(tx, id, true);
    if (!stored) throw SUBSCRIPTION_NOT_FOUND();
    const price = await recurringPrice(tx, stored.priceId);
    const current = subscriptionAt(stored, price.interval, now);
    const heldForUnpaid = current.status === 'paused' && (await pausedFor(tx, id)) === 'unpaid';
    let next: SubscriptionState | undefined;
    if (hold && (current.status === 'trialing' || current.status === 'active')) next = paused(current, now);
    if (!hold && heldForUnpaid) next = resumed(current, price.interval, now);
    if (!next) return { subscription: await view(tx, stored, now), changed: false };
    const saved = await saveSubscription(tx, id, next);
    await setPausedFor(tx, id, hold ? 'unpaid' : null);
    await insertSubscriptionChange(tx, {
      subscriptionId: id,
      kind: hold ? 'paused' : 'resumed',
      details: { reason: hold ? 'unpaid invoice' : 'invoice paid' },
      actorId: null,
    });
    return { subscription: await view(tx, saved, now), changed: true };
  });
}
