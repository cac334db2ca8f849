import { randomUUID } from 'node:crypto';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';

/** A tenant's own products, prices and its clients' subscriptions, through the real gateway (client links checked over REST). */
describe("a tenant's catalogue and its clients' subscriptions", () => {
  let platform: TestPlatform;
  let tenant: PlatformTenant;
  let other: PlatformTenant;
  const api = (who: PlatformTenant = tenant) => platform.as(who);

  async function monthlyPrice(who: PlatformTenant, trialDays = 14): Promise<string> {
    const productRes = await api(who).post('/api/v1/subscription/products').send({ name: 'Pro seat' });
    expect(productRes.status).toBe(201);
    const price = await api(who)
      .post(`/api/v1/subscription/products/${productRes.body.id}/prices`)
      .send({ amountMinor: 1500, currency: 'EUR', interval: 'month', trialDays });
    expect(price.status).toBe(201);
    return price.body.id as string;
  }
  const newClient = async (who: PlatformTenant) =>
    (
      await api(who)
        .post('/api/v1/client/clients')
        .send({ name: `Client ${randomUUID()}` })
    ).body.id as string;

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['subscription', 'client'] });
    tenant = await platform.newTenant();
    other = await platform.newTenant();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when a client subscribes, then it goes trial → active → paused → resumed → canceled at period end, each step through the gateway', async () => {
    const priceId = await monthlyPrice(tenant);
    const clientId = await newClient(tenant);
    const created = await api().post('/api/v1/subscription/subscriptions').send({ clientId, priceId, quantity: 2 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'trialing', quantity: 2, price: { amountMinor: 1500, currency: 'EUR', interval: 'month' } });
    expect(Date.parse(created.body.trialEnd) - Date.parse(created.body.createdAt)).toBeGreaterThan(13.9 * 86_400_000);
    const id = created.body.id as string;
    const step = (action: string, body: object = {}) => api().post(`/api/v1/subscription/subscriptions/${id}/${action}`).send(body);

    const active = await step('activate');
    expect(active.status).toBe(200);
    expect(active.body.status).toBe('active');
    expect(Date.parse(active.body.currentPeriodEnd) - Date.parse(active.body.currentPeriodStart)).toBeGreaterThanOrEqual(28 * 86_400_000);
    expect((await step('activate')).body.error.code).toBe('SUBSCRIPTION_STATE');

    expect((await step('pause')).body.status).toBe('paused');
    expect((await step('pause')).status).toBe(409);
    expect((await step('resume')).body.status).toBe('active');

    const scheduled = await step('cancel', { atPeriodEnd: true });
    expect(scheduled.body).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect((await step('cancel', { atPeriodEnd: true })).status).toBe(409);
    // At the period's end it is canceled: what a read then shows, computed from the stored state.
    await platform.query(
      tenant.id,
      `UPDATE subscriptions SET current_period_start = now() - interval '31 days', current_period_end = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    const later = await api().get(`/api/v1/subscription/subscriptions/${id}`);
    expect(later.body).toMatchObject({ status: 'canceled' });
    expect(later.body.canceledAt).toBe(later.body.currentPeriodEnd);

    const history = await platform.query<{ kind: string }>(tenant.id, 'SELECT kind FROM subscription_changes WHERE subscription_id = $1 ORDER BY id', [id]);
    expect(history.map((h) => h.kind)).toEqual(['created', 'trial_ended', 'paused', 'resumed', 'cancel_scheduled']);
  });

  it('when an active subscription changes quantity mid-period, then the proration is recorded for billing', async () => {
    const priceId = await monthlyPrice(tenant, 0);
    const created = await api()
      .post('/api/v1/subscription/subscriptions')
      .send({ clientId: await newClient(tenant), priceId });
    expect(created.body.status).toBe('active');
    const changed = await api().patch(`/api/v1/subscription/subscriptions/${created.body.id}`).send({ quantity: 3 });
    expect(changed.status).toBe(200);
    expect(changed.body.quantity).toBe(3);
    const [change] = await platform.query<{ kind: string; proration_minor: string }>(
      tenant.id,
      `SELECT kind, proration_minor FROM subscription_changes WHERE subscription_id = $1 AND kind = 'quantity_changed'`,
      [created.body.id],
    );
    // Two more seats at 15.00 for (nearly) the whole period.
    expect(Number(change!.proration_minor)).toBeGreaterThan(2990);
    expect(Number(change!.proration_minor)).toBeLessThanOrEqual(3000);
  });

  it('when input is bad, then 400 listing the fields and nothing is written', async () => {
    const product = await api().post('/api/v1/subscription/products').send({ name: 'Bad prices' });
    for (const [field, value] of [
      ['amountMinor', -5],
      ['amountMinor', 1.25],
      ['currency', 'usd'],
      ['currency', 'ZZZ'],
      ['interval', 'fortnight'],
    ] as const) {
      const res = await api()
        .post(`/api/v1/subscription/products/${product.body.id}/prices`)
        .send({ amountMinor: 100, currency: 'EUR', interval: 'month', [field]: value });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(`body.${field}`);
    }
    expect((await api().get(`/api/v1/subscription/products/${product.body.id}`)).body.prices).toEqual([]);
    expect((await api().get(`/api/v1/subscription/products/${randomUUID()}`)).body.error.code).toBe('PRODUCT_NOT_FOUND');
    const oneOff = await api().post(`/api/v1/subscription/products/${product.body.id}/prices`).send({ amountMinor: 100, currency: 'EUR', interval: null });
    const refused = await api()
      .post('/api/v1/subscription/subscriptions')
      .send({ clientId: await newClient(tenant), priceId: oneOff.body.id });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0].path).toBe('body.priceId');
  });

  it("when one tenant uses another's client, price or subscription, then it is as if they did not exist", async () => {
    const priceId = await monthlyPrice(tenant);
    const theirClient = await newClient(other);
    const withTheirClient = await api().post('/api/v1/subscription/subscriptions').send({ clientId: theirClient, priceId });
    expect(withTheirClient.status).toBe(400);
    expect(withTheirClient.body.error.details[0].path).toBe('body.clientId');
    const withMyPrice = await api(other).post('/api/v1/subscription/subscriptions').send({ clientId: theirClient, priceId });
    expect(withMyPrice.status).toBe(400);
    const mine = await api()
      .post('/api/v1/subscription/subscriptions')
      .send({ clientId: await newClient(tenant), priceId });
    expect((await api(other).get(`/api/v1/subscription/subscriptions/${mine.body.id}`)).status).toBe(404);
    expect((await api(other).post(`/api/v1/subscription/subscriptions/${mine.body.id}/cancel`).send({})).status).toBe(404);
    expect((await api(other).get('/api/v1/subscription/subscriptions')).body.items).toEqual([]);
  });
});
