import { randomBytes, randomUUID } from 'node:crypto';
import type { ServiceDeps } from '@codex/shared';
import { closeClientPeriods, reconcileClientPayments, runClientDunning, type ClientBillingDeps } from '../src/domain/client-billing';
import { clientBillingDeps } from '../src/routes/client-billing-routes';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';
import { signedStripeEvent, startStripeStandIn, type StripeStandIn } from '../../../test/support/stripe-stand-in';
import request from 'supertest';

const DAY = 86_400_000;

/** A tenant invoicing and charging its own clients for their subscriptions, through the real gateway. */
describe('a tenant billing its own clients', () => {
  let stripe: StripeStandIn;
  let platform: TestPlatform;
  let billing: ClientBillingDeps;
  let tenant: PlatformTenant;
  let other: PlatformTenant;
  const api = (who: PlatformTenant = tenant) => platform.as(who);
  const secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;

  async function subscribe(who: PlatformTenant, options: { amountMinor?: number; quantity?: number; trialDays?: number } = {}) {
    const product = await api(who).post('/api/v1/subscription/products').send({ name: 'Team plan' });
    const price = await api(who)
      .post(`/api/v1/subscription/products/${product.body.id}/prices`)
      .send({ amountMinor: options.amountMinor ?? 1500, currency: 'EUR', interval: 'month', trialDays: options.trialDays ?? 0 });
    const client = await api(who)
      .post('/api/v1/client/clients')
      .send({ name: `Client ${randomUUID()}` });
    const created = await api(who)
      .post('/api/v1/subscription/subscriptions')
      .send({ clientId: client.body.id, priceId: price.body.id, quantity: options.quantity ?? 1 });
    expect(created.status).toBe(201);
    return created.body as { id: string; clientId: string; currentPeriodStart: string; currentPeriodEnd: string };
  }
  const invoicesOf = async (subscriptionId: string, who = tenant) =>
    (await api(who).get('/api/v1/billing/client-invoices').query({ subscriptionId })).body.items as Array<Record<string, any>>;
  const pay = (body: object, who = tenant, key: string = randomUUID()) =>
    api(who).post('/api/v1/billing/client-payments').set('Idempotency-Key', key).send(body);

  beforeAll(async () => {
    stripe = await startStripeStandIn();
    platform = await startTestPlatform({
      services: ['billing', 'subscription', 'client'],
      env: { billing: { BILLING_JOBS: 'off', STRIPE_API_BASE: stripe.url, STRIPE_TIMEOUT_MS: '500', DUNNING_RETRY_DAYS: '1,3', DUNNING_GRACE_DAYS: '5' } },
    });
    billing = clientBillingDeps(platform.deps.billing as ServiceDeps<'billing'>);
    tenant = await platform.newTenant();
    other = await platform.newTenant();
  });
  afterAll(async () => {
    await platform?.close();
    await stripe?.close();
  });

  it('when the tenant sets its billing up, then its own Stripe keys are stored sealed and never shown', async () => {
    expect((await api().get('/api/v1/billing/client-billing-settings')).body).toMatchObject({
      taxRateBp: 0,
      paymentTermsDays: 14,
      stripe: { configured: false },
    });
    const set = await api()
      .patch('/api/v1/billing/client-billing-settings')
      .send({ issuerName: 'Acme Ltd', taxRateBp: 2000, paymentTermsDays: 30, stripe: { secretKey, webhookSecret } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      issuerName: 'Acme Ltd',
      taxRateBp: 2000,
      paymentTermsDays: 30,
      stripe: { configured: true, keyHint: secretKey.slice(-4) },
    });
    expect(JSON.stringify(set.body)).not.toContain(secretKey);
    const [stored] = await platform.query<Record<string, string>>(
      tenant.id,
      'SELECT stripe_secret_key_sealed, stripe_webhook_secret_sealed FROM billing_settings',
    );
    expect(stored!.stripe_secret_key_sealed).not.toContain(secretKey);
    expect(stored!.stripe_webhook_secret_sealed).not.toContain(webhookSecret);

    expect((await api().patch('/api/v1/billing/client-billing-settings').send({ taxRateBp: 10_001 })).status).toBe(400);
    expect(
      (
        await api()
          .patch('/api/v1/billing/client-billing-settings')
          .send({ stripe: { secretKey: 'nope', webhookSecret } })
      ).status,
    ).toBe(400);
    expect((await api().patch('/api/v1/billing/client-billing-settings').send({})).status).toBe(400);
    // The other tenant's settings are its own.
    expect((await api(other).get('/api/v1/billing/client-billing-settings')).body).toMatchObject({ issuerName: '', stripe: { configured: false } });
  });

  it('when a paid period starts, then it is invoiced once in advance at the price × quantity plus tax, and rerunning the close makes nothing new', async () => {
    const subscription = await subscribe(tenant, { amountMinor: 1500, quantity: 2 });
    const first = await api().post('/api/v1/billing/client-invoices/close');
    expect(first.status).toBe(200);
    expect(first.body.invoices).toBeGreaterThanOrEqual(1);
    expect((await api().post('/api/v1/billing/client-invoices/close')).body).toEqual({ invoices: 0 });
    const [invoice] = await invoicesOf(subscription.id);
    expect(invoice).toMatchObject({
      clientId: subscription.clientId,
      status: 'finalized',
      currency: 'EUR',
      periodStart: subscription.currentPeriodStart,
      periodEnd: subscription.currentPeriodEnd,
      subtotalMinor: 3000,
      taxRateBp: 2000,
      taxMinor: 600,
      totalMinor: 3600,
      paidMinor: 0,
      lines: [{ kind: 'subscription', quantity: 2, unitAmountMinor: 1500, amountMinor: 3000 }],
    });
    expect(invoice!.number).toMatch(/^INV-\d{4}-\d{6}$/);
    expect(Date.parse(invoice!.dueAt) - Date.parse(invoice!.issuedAt)).toBe(30 * DAY);
  });

  it('when the quantity changes mid-period, then the next period is billed at the new quantity with the recorded proration, and catching up two periods makes two invoices', async () => {
    const subscription = await subscribe(tenant, { amountMinor: 1000, quantity: 1 });
    await closeClientPeriods(billing, tenant.id);
    expect((await api().patch(`/api/v1/subscription/subscriptions/${subscription.id}`).send({ quantity: 3 })).status).toBe(200);
    const [change] = await platform.query<{ proration_minor: string }>(
      tenant.id,
      `SELECT proration_minor FROM subscription_changes WHERE subscription_id = $1 AND kind = 'quantity_changed'`,
      [subscription.id],
    );
    const proration = Number(change!.proration_minor);
    expect(proration).toBeGreaterThan(0);

    // Two periods later: the close catches up, each period once.
    const secondPeriodEnd = new Date(Date.parse(subscription.currentPeriodEnd) + 32 * DAY);
    await closeClientPeriods(billing, tenant.id, secondPeriodEnd);
    expect(await invoicesOf(subscription.id)).toHaveLength(3);
    expect(await closeClientPeriods(billing, tenant.id, secondPeriodEnd)).toEqual({ invoices: 0 });
    const [third, second, first] = (await invoicesOf(subscription.id)).sort((a, b) => Date.parse(b.periodStart) - Date.parse(a.periodStart));
    expect(first).toMatchObject({ subtotalMinor: 1000, lines: [{ kind: 'subscription', quantity: 1 }] });
    expect(second!.periodStart).toBe(subscription.currentPeriodEnd);
    expect(second!.lines).toEqual([
      expect.objectContaining({ kind: 'subscription', quantity: 3, amountMinor: 3000 }),
      expect.objectContaining({ kind: 'proration', amountMinor: proration }),
    ]);
    expect(second).toMatchObject({ subtotalMinor: 3000 + proration, taxMinor: Math.round((3000 + proration) * 0.2) });
    expect(third).toMatchObject({ subtotalMinor: 3000, periodStart: second!.periodEnd });
    expect(third!.lines).toHaveLength(1);
    // One run invoices a subscription's periods in turn, and the tenant's numbers have no gaps.
    expect(Number(third!.number.slice(-6))).toBe(Number(second!.number.slice(-6)) + 1);
    const years = await platform.query<{ numbers: number[] }>(
      tenant.id,
      `SELECT array_agg(right(number, 6)::int ORDER BY number) AS numbers FROM invoices GROUP BY substr(number, 5, 4)`,
    );
    for (const { numbers } of years) expect(numbers).toEqual(numbers.map((_, index) => index + 1));
  });

  it('when a subscription is trialing or paused, then no period is invoiced', async () => {
    const trialing = await subscribe(tenant, { trialDays: 14 });
    const paused = await subscribe(tenant);
    await closeClientPeriods(billing, tenant.id);
    expect(
      await api()
        .post(`/api/v1/subscription/subscriptions/${paused.id}/pause`)
        .then((r) => r.status),
    ).toBe(200);
    const later = new Date(Date.now() + 40 * DAY);
    await closeClientPeriods(billing, tenant.id, new Date(Date.now() + 10 * DAY));
    expect(await invoicesOf(trialing.id)).toHaveLength(0);
    await closeClientPeriods(billing, tenant.id, later);
    // The trial ended on day 14: its first paid period is invoiced; the paused one gets nothing after its first.
    expect(await invoicesOf(trialing.id)).toHaveLength(1);
    expect(await invoicesOf(paused.id)).toHaveLength(1);
  });

  it("when a client pays, then a manual payment settles the invoice once and a Stripe payment charges the tenant's own account once", async () => {
    const subscription = await subscribe(tenant, { amountMinor: 2000 });
    await closeClientPeriods(billing, tenant.id);
    const [invoice] = await invoicesOf(subscription.id);

    expect((await pay({ invoiceId: invoice!.id, provider: 'manual', amountMinor: -1, reference: 'x' })).status).toBe(400);
    expect((await pay({ invoiceId: invoice!.id, provider: 'manual' })).status).toBe(400);
    expect((await pay({ invoiceId: invoice!.id, provider: 'manual', amountMinor: 999_999, reference: 'x' })).status).toBe(422);
    const key = randomUUID();
    const part = await pay({ invoiceId: invoice!.id, provider: 'manual', amountMinor: 1000, reference: 'SEPA-1' }, tenant, key);
    expect(part.status).toBe(201);
    expect(part.body).toMatchObject({ status: 'succeeded', amountMinor: 1000 });
    const again = await pay({ invoiceId: invoice!.id, provider: 'manual', amountMinor: 1000, reference: 'SEPA-1' }, tenant, key);
    expect(again.body.id).toBe(part.body.id);
    expect((await api().get(`/api/v1/billing/client-invoices/${invoice!.id}`)).body).toMatchObject({ status: 'finalized', paidMinor: 1000 });

    const charged = await pay({ invoiceId: invoice!.id, provider: 'stripe', paymentMethod: 'pm_card_visa' });
    expect(charged.status).toBe(201);
    expect(charged.body).toMatchObject({ status: 'succeeded', amountMinor: 1400, currency: 'EUR' });
    const charge = stripe.requests.filter((r) => r.path === '/v1/payment_intents' && r.idempotencyKey === `payment-${charged.body.id}`);
    expect(charge.length).toBeGreaterThanOrEqual(1);
    expect(charge.every((r) => r.secretKey === secretKey)).toBe(true);
    expect([...stripe.intents.values()].filter((i) => i.metadata.paymentId === charged.body.id)).toHaveLength(1);
    expect((await api().get(`/api/v1/billing/client-invoices/${invoice!.id}`)).body).toMatchObject({ status: 'paid', paidMinor: 2400 });
    expect((await pay({ invoiceId: invoice!.id, provider: 'manual', reference: 'late' })).body.error.code).toBe('INVOICE_STATE');
    expect((await api().get('/api/v1/billing/client-payments').query({ invoiceId: invoice!.id })).body.total).toBe(2);

    // Refunds: through the tenant's own account, never above what is left of the payment.
    const refund = (paymentId: string, body: object) =>
      api().post(`/api/v1/billing/client-payments/${paymentId}/refunds`).set('Idempotency-Key', randomUUID()).send(body);
    expect((await refund(charged.body.id, { amountMinor: 1401 })).body.error.code).toBe('REFUND_EXCEEDS_PAYMENT');
    expect((await refund(charged.body.id, { amountMinor: 0 })).status).toBe(400);
    const partial = await refund(charged.body.id, { amountMinor: 400, reason: 'seat removed' });
    expect(partial.status).toBe(201);
    expect(partial.body).toMatchObject({ refundedMinor: 400 });
    expect(stripe.requests.filter((r) => r.path === '/v1/refunds').every((r) => r.secretKey === secretKey)).toBe(true);
    expect((await refund(charged.body.id, {})).body).toMatchObject({ refundedMinor: 1400 });
    expect((await refund(charged.body.id, { amountMinor: 1 })).status).toBe(422);
    expect((await refund(part.body.id, {})).body).toMatchObject({ provider: 'manual', refundedMinor: 1000 });
    // Another tenant cannot refund this tenant's payment: it does not exist there.
    expect((await api(other).post(`/api/v1/billing/client-payments/${charged.body.id}/refunds`).set('Idempotency-Key', randomUUID()).send({})).status).toBe(
      404,
    );
  });

  it('when Stripe does not answer a charge, then the payment stays pending and reconciliation settles it without a second charge', async () => {
    const subscription = await subscribe(tenant, { amountMinor: 700 });
    await closeClientPeriods(billing, tenant.id);
    const [invoice] = await invoicesOf(subscription.id);
    stripe.beforeNextChargeAnswer = { dropAnswers: 3 };
    const pending = await pay({ invoiceId: invoice!.id, provider: 'stripe', paymentMethod: 'pm_card_visa' });
    expect(pending.status).toBe(201);
    expect(pending.body.status).toBe('pending');
    expect((await pay({ invoiceId: invoice!.id, provider: 'manual', reference: 'x' })).body.error.code).toBe('PAYMENT_IN_PROGRESS');
    expect(await reconcileClientPayments(billing, tenant.id, 0)).toEqual({ reconciled: 1, refunds: 0 });
    expect((await api().get(`/api/v1/billing/client-payments/${pending.body.id}`)).body.status).toBe('succeeded');
    expect([...stripe.intents.values()].filter((i) => i.metadata.paymentId === pending.body.id)).toHaveLength(1);
    expect((await api().get(`/api/v1/billing/client-invoices/${invoice!.id}`)).body.status).toBe('paid');

    // A refund Stripe made but whose answer was lost: pending, then recorded by reconciliation, made once.
    stripe.beforeNextRefundAnswer = { dropAnswers: 3 };
    const lost = await api().post(`/api/v1/billing/client-payments/${pending.body.id}/refunds`).set('Idempotency-Key', randomUUID()).send({ amountMinor: 300 });
    expect(lost.status).toBe(504);
    expect(await reconcileClientPayments(billing, tenant.id, 0)).toEqual({ reconciled: 0, refunds: 1 });
    expect((await api().get(`/api/v1/billing/client-payments/${pending.body.id}`)).body.refundedMinor).toBe(300);
    const intent = [...stripe.intents.values()].find((i) => i.metadata.paymentId === pending.body.id)!;
    expect(intent.refunded).toBe(300);
  });

  it("when the tenant's Stripe account sends webhooks, then they are checked with that tenant's secret and settle a lost charge once, in any order", async () => {
    const subscription = await subscribe(tenant, { amountMinor: 900 });
    await closeClientPeriods(billing, tenant.id);
    const [invoice] = await invoicesOf(subscription.id);
    stripe.beforeNextChargeAnswer = { dropAnswers: 3 };
    const pending = await pay({ invoiceId: invoice!.id, provider: 'stripe', paymentMethod: 'pm_card_visa' });
    expect(pending.body.status).toBe('pending');
    const intentId = [...stripe.intents.entries()].find(([, i]) => i.metadata.paymentId === pending.body.id)![0];
    const object = { id: intentId, object: 'payment_intent', metadata: { paymentId: pending.body.id } };
    const send = (event: { id: string; type: string }, options: { secret?: string; tenantId?: string } = {}) => {
      const { payload, signature } = signedStripeEvent({ ...event, object }, options.secret ?? webhookSecret);
      return request(platform.gateway.url)
        .post(`/api/v1/billing/webhooks/stripe/tenants/${options.tenantId ?? tenant.id}`)
        .set('Content-Type', 'application/json')
        .set('Stripe-Signature', signature)
        .send(payload);
    };
    const succeeded = { id: `evt_${randomBytes(8).toString('hex')}`, type: 'payment_intent.succeeded' };
    const processing = { id: `evt_${randomBytes(8).toString('hex')}`, type: 'payment_intent.processing' };

    // Signed with another secret (the platform's, another tenant's): refused, nothing changes.
    expect((await send(succeeded, { secret: `whsec_${randomBytes(16).toString('hex')}` })).body.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect((await send(succeeded, { tenantId: other.id })).status).toBe(409);
    expect((await send(succeeded, { tenantId: randomUUID() })).status).toBe(404);
    expect((await api().get(`/api/v1/billing/client-payments/${pending.body.id}`)).body.status).toBe('pending');

    expect((await send(succeeded)).body).toEqual({ received: true, duplicate: false });
    expect((await send(processing)).body).toEqual({ received: true, duplicate: false });
    expect((await send(succeeded)).body).toEqual({ received: true, duplicate: true });
    expect((await api().get(`/api/v1/billing/client-payments/${pending.body.id}`)).body).toMatchObject({ status: 'succeeded', providerRef: intentId });
    expect((await api().get(`/api/v1/billing/client-invoices/${invoice!.id}`)).body).toMatchObject({ status: 'paid', paidMinor: invoice!.totalMinor });
  });

  it("when a client's card keeps failing, then dunning retries it on schedule, pauses the subscription after the grace period, and a payment resumes it", async () => {
    const subscription = await subscribe(tenant, { amountMinor: 1200 });
    await closeClientPeriods(billing, tenant.id);
    const [invoice] = await invoicesOf(subscription.id);
    const declined = await pay({ invoiceId: invoice!.id, provider: 'stripe', paymentMethod: 'pm_card_chargeDeclined' });
    expect(declined.body).toMatchObject({ status: 'failed' });
    const due = Date.parse(invoice!.dueAt);
    const attempts = () => [...stripe.intents.values()].filter((i) => i.paymentMethod === 'pm_card_chargeDeclined').length;
    const charges = () => stripe.requests.filter((r) => r.path === '/v1/payment_intents').length;
    const state = async () => (await api().get(`/api/v1/subscription/subscriptions/${subscription.id}`)).body.status;

    // Before the first retry day nothing is charged; on it, one retry; run again the same day, none more.
    let before = charges();
    expect(await runClientDunning(billing, tenant.id, new Date(due + 0.5 * DAY))).toMatchObject({ retried: 0, paused: 0 });
    expect(charges()).toBe(before);
    expect(await runClientDunning(billing, tenant.id, new Date(due + 1.5 * DAY))).toMatchObject({ retried: 1, paused: 0 });
    expect(await runClientDunning(billing, tenant.id, new Date(due + 1.6 * DAY))).toMatchObject({ retried: 0 });
    expect(await runClientDunning(billing, tenant.id, new Date(due + 3.5 * DAY))).toMatchObject({ retried: 1, paused: 0 });
    expect(charges()).toBe(before + 2);
    expect(attempts()).toBe(0);
    expect(await state()).toBe('active');

    // Past the grace period: the subscription is paused through the subscription service, once.
    before = charges();
    // (Unpaid invoices of earlier tests' subscriptions are past their grace too, and are paused with it.)
    expect((await runClientDunning(billing, tenant.id, new Date(due + 6 * DAY))).paused).toBeGreaterThanOrEqual(1);
    expect(await runClientDunning(billing, tenant.id, new Date(due + 6.5 * DAY))).toMatchObject({ paused: 0, resumed: 0 });
    expect(charges()).toBe(before);
    expect(await state()).toBe('paused');
    const [change] = await platform.query<{ details: { reason: string }; actor_id: string | null }>(
      tenant.id,
      `SELECT details, actor_id FROM subscription_changes WHERE subscription_id = $1 AND kind = 'paused'`,
      [subscription.id],
    );
    expect(change).toEqual({ details: { reason: 'unpaid invoice' }, actor_id: null });

    // Paid: the next run resumes it.
    expect((await pay({ invoiceId: invoice!.id, provider: 'manual', reference: 'late transfer' })).body.status).toBe('succeeded');
    expect(await runClientDunning(billing, tenant.id, new Date(due + 7 * DAY))).toMatchObject({ resumed: 1 });
    expect(await state()).toBe('active');
    expect(await runClientDunning(billing, tenant.id, new Date(due + 8 * DAY))).toMatchObject({ resumed: 0, paused: 0 });
  });

  it('when the tenant paused a subscription itself, then paying its overdue invoice does not resume it', async () => {
    const subscription = await subscribe(tenant, { amountMinor: 300 });
    await closeClientPeriods(billing, tenant.id);
    const [invoice] = await invoicesOf(subscription.id);
    const due = Date.parse(invoice!.dueAt);
    await runClientDunning(billing, tenant.id, new Date(due + 6 * DAY));
    expect((await api().get(`/api/v1/subscription/subscriptions/${subscription.id}`)).body.status).toBe('paused');
    // The tenant resumes it by hand (an override) and pauses it again for its own reasons.
    expect((await api().post(`/api/v1/subscription/subscriptions/${subscription.id}/resume`)).status).toBe(200);
    expect((await api().post(`/api/v1/subscription/subscriptions/${subscription.id}/pause`)).status).toBe(200);
    await pay({ invoiceId: invoice!.id, provider: 'manual', reference: 'paid' });
    await runClientDunning(billing, tenant.id, new Date(due + 7 * DAY));
    expect((await api().get(`/api/v1/subscription/subscriptions/${subscription.id}`)).body.status).toBe('paused');
  });

  it('when an invoice is voided, downloaded or asked for by another tenant, then each answer is the stated one', async () => {
    const subscription = await subscribe(tenant, { amountMinor: 500 });
    await closeClientPeriods(billing, tenant.id);
    const [invoice] = await invoicesOf(subscription.id);

    const html = await api().get(`/api/v1/billing/client-invoices/${invoice!.id}/document`).query({ format: 'html' });
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.text).toContain(invoice!.number);
    expect(html.text).toContain('Acme Ltd');
    const pdf = await api().get(`/api/v1/billing/client-invoices/${invoice!.id}/document`).buffer(true);
    expect(pdf.headers['content-type']).toBe('application/pdf');

    // Another tenant: its own database has no such invoice, and its Stripe account is not set up.
    expect((await api(other).get(`/api/v1/billing/client-invoices/${invoice!.id}`)).status).toBe(404);
    expect((await api(other).get(`/api/v1/billing/client-invoices/${invoice!.id}/document`)).status).toBe(404);
    expect((await api(other).post(`/api/v1/billing/client-invoices/${invoice!.id}/void`)).status).toBe(404);
    expect((await pay({ invoiceId: invoice!.id, provider: 'manual', reference: 'x' }, other)).status).toBe(404);
    expect((await api(other).get('/api/v1/billing/client-invoices')).body.items).toEqual([]);
    const theirs = await subscribe(other);
    await closeClientPeriods(billing, other.id);
    const [theirInvoice] = await invoicesOf(theirs.id, other);
    expect((await pay({ invoiceId: theirInvoice!.id, provider: 'stripe', paymentMethod: 'pm_card_visa' }, other)).body.error.code).toBe(
      'PAYMENT_PROVIDER_NOT_CONFIGURED',
    );

    const voided = await api().post(`/api/v1/billing/client-invoices/${invoice!.id}/void`);
    expect(voided.body).toMatchObject({ status: 'void' });
    expect((await api().post(`/api/v1/billing/client-invoices/${invoice!.id}/uncollectible`)).status).toBe(409);
    expect((await pay({ invoiceId: invoice!.id, provider: 'manual', reference: 'x' })).status).toBe(409);
    // An issued invoice's amounts and lines do not change, even by SQL.
    await expect(
      platform.query(tenant.id, 'UPDATE invoices SET total_minor = 1, subtotal_minor = 1, tax_minor = 0 WHERE id = $1', [invoice!.id]),
    ).rejects.toThrow();
    await expect(platform.query(tenant.id, 'DELETE FROM invoice_lines WHERE invoice_id = $1', [invoice!.id])).rejects.toThrow();
    await expect(
      platform.query(
        tenant.id,
        `INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity, unit_amount_minor, amount_minor)
        VALUES ($1, 9, 'proration', 'x', 1, 1, 1)`,
        [invoice!.id],
      ),
    ).rejects.toThrow();
    expect((await api().get(`/api/v1/billing/client-invoices/${invoice!.id}`)).body).toMatchObject({ totalMinor: invoice!.totalMinor, lines: invoice!.lines });
  });
});
