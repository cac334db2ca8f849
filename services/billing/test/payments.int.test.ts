import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Pool, ServiceDeps } from '@codex/shared';
import { closePeriods } from '../src/domain/invoicing';
import { reconcilePayments } from '../src/domain/payments';
import { paymentDeps } from '../src/routes/payment-routes';
import { insertBillableTenant, insertPlan } from '../../../test/support/billing';
import { freePort } from '../../../test/support/listen';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import { runTypeScript, type RunningProcess } from '../../../test/support/processes';
import { serviceAuth } from '../../../test/support/service-auth';
import { signedStripeEvent, startStripeStandIn, type StripeStandIn } from '../../../test/support/stripe-stand-in';

const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`;
const at = (iso: string) => new Date(iso);

describe('payments of the platform invoices', () => {
  let stripe: StripeStandIn;
  let platform: TestPlatform;
  let db: Pool;
  let operator: string;
  let tenantId: string;

  const api = () => request(platform.gateway.url);
  const asOperator = (call: request.Test) => call.set('Authorization', `Bearer ${operator}`);
  const pay = (body: object, key?: string) => {
    const call = asOperator(api().post('/api/v1/billing/payments')).send(body);
    return key ? call.set('Idempotency-Key', key) : call;
  };
  const invoiceState = async (id: string) =>
    (await db.query<{ status: string; paid_minor: string; total_minor: string }>('SELECT status, paid_minor, total_minor FROM invoices WHERE id = $1', [id]))
      .rows[0]!;

  /** A new finalized invoice of 1,000 for the tenant (one more ended month). */
  let month = 0;
  async function nextInvoice(): Promise<string> {
    month += 1;
    await closePeriods(db, { tenantId, now: new Date(Date.UTC(2026, month, 2)) });
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM invoices WHERE tenant_id = $1 ORDER BY period_start DESC LIMIT 1`, [tenantId]);
    return rows[0]!.id;
  }

  beforeAll(async () => {
    stripe = await startStripeStandIn();
    platform = await startTestPlatform({
      services: ['billing'],
      env: { billing: { BILLING_JOBS: 'off', STRIPE_API_BASE: stripe.url, STRIPE_TIMEOUT_MS: '500' } },
    });
    db = platform.deps.billing!.db;
    operator = await platform.newOperatorToken();
    await insertPlan(db, 'monthly', 1000);
    tenantId = await insertBillableTenant(db, 'monthly', at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'));
  });
  afterAll(async () => {
    await platform?.close();
    await stripe?.close();
  });

  it('when the Stripe account is set up, then its keys are stored sealed and never shown', async () => {
    const secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
    expect((await asOperator(api().put('/api/v1/billing/providers/stripe')).send({ secretKey: 'not-a-key', webhookSecret: WEBHOOK_SECRET })).status).toBe(400);
    const set = await asOperator(api().put('/api/v1/billing/providers/stripe')).send({ secretKey, webhookSecret: WEBHOOK_SECRET });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ configured: true, keyHint: secretKey.slice(-4) });
    expect(JSON.stringify((await asOperator(api().get('/api/v1/billing/providers/stripe'))).body)).not.toContain(secretKey);
    const stored = JSON.stringify((await db.query('SELECT * FROM payment_providers')).rows);
    expect(stored).not.toContain(secretKey);
    expect(stored).not.toContain(WEBHOOK_SECRET);
  });

  it('when an admin records a manual payment, then the invoice is paid, and it takes no second one', async () => {
    const invoiceId = await nextInvoice();
    const paid = await pay({ invoiceId, provider: 'manual', reference: 'BANK-0001' });
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ status: 'succeeded', amountMinor: 1000, reference: 'BANK-0001' });
    expect(await invoiceState(invoiceId)).toMatchObject({ status: 'paid', paid_minor: '1000' });
    const again = await pay({ invoiceId, provider: 'manual', reference: 'BANK-0002' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('INVOICE_STATE');
  });

  it('when a payment is malformed, then it is refused and nothing is written', async () => {
    const invoiceId = await nextInvoice();
    const before = (await db.query('SELECT count(*) FROM payments')).rows[0];
    for (const amountMinor of [-5, 0, 10.5, 'NaN', '100', Number.MAX_SAFE_INTEGER + 2])
      expect((await pay({ invoiceId, provider: 'manual', reference: 'X', amountMinor })).status).toBe(400);
    expect((await pay({ invoiceId, provider: 'manual' })).status).toBe(400);
    expect((await pay({ invoiceId, provider: 'manual', reference: 'X', paymentMethod: 'pm_card_visa' })).status).toBe(400);
    expect((await pay({ invoiceId, provider: 'cash', reference: 'X' })).status).toBe(400);
    const over = await pay({ invoiceId, provider: 'manual', reference: 'X', amountMinor: 1001 });
    expect(over.status).toBe(422);
    expect((await pay({ invoiceId: '00000000-0000-4000-8000-000000000000', provider: 'manual', reference: 'X' })).status).toBe(404);
    expect((await db.query('SELECT count(*) FROM payments')).rows[0]).toEqual(before);
    expect(await invoiceState(invoiceId)).toMatchObject({ status: 'finalized', paid_minor: '0' });
  });

  it('when a Stripe charge times out and the payment is retried with the same Idempotency-Key, then Stripe charges once', async () => {
    const invoiceId = await nextInvoice();
    const chargesBefore = stripe.intents.size;
    // The stand-in charges, then answers after the client's 500 ms timeout: the client asks again with the same key.
    stripe.beforeNextChargeAnswer = { holdMs: 1_500 };
    const key = `pay-${randomBytes(6).toString('hex')}`;
    const body = { invoiceId, provider: 'stripe', paymentMethod: 'pm_card_visa' };
    const [first, concurrent] = await Promise.all([pay(body, key), new Promise((resolve) => setTimeout(resolve, 100)).then(() => pay(body, key))]);
    expect(first.status).toBe(201);
    expect(first.body.status).toBe('succeeded');
    expect(concurrent.status).toBe(409);
    const replay = await pay(body, key);
    expect(replay.status).toBe(201);
    expect(replay.body.id).toBe(first.body.id);
    expect((await pay({ ...body, amountMinor: 10 }, key)).status).toBe(422);
    expect(stripe.intents.size).toBe(chargesBefore + 1);
    const keys = stripe.requests.filter((r) => r.path === '/v1/payment_intents' && r.idempotencyKey === `payment-${first.body.id}`);
    expect(keys.length).toBeGreaterThanOrEqual(2); // the timed-out request and the client's retry, one charge
    expect(await invoiceState(invoiceId)).toMatchObject({ status: 'paid', paid_minor: '1000' });
  });

  it('when Stripe makes a refund but its answer is lost, then the refund stays pending and reconciliation records it without a second refund', async () => {
    const invoiceId = await nextInvoice();
    const paid = (await pay({ invoiceId, provider: 'stripe', paymentMethod: 'pm_card_visa' })).body;
    expect(paid.status).toBe('succeeded');
    // Stripe refunds, but neither the answer nor the client's two retries with the same key get through.
    stripe.beforeNextRefundAnswer = { dropAnswers: 3 };
    const lost = await asOperator(api().post(`/api/v1/billing/payments/${paid.id}/refunds`))
      .set('Idempotency-Key', randomBytes(8).toString('hex'))
      .send({ amountMinor: 400 });
    expect(lost.status).toBe(504);
    expect((await db.query('SELECT status FROM refunds WHERE payment_id = $1', [paid.id])).rows).toEqual([{ status: 'pending' }]);
    expect(stripe.intents.get(paid.providerRef)!.refunded).toBe(400);

    const result = await reconcilePayments(paymentDeps(platform.deps.billing as ServiceDeps<'billing'>), 0);
    expect(result.refunds).toBe(1);
    expect((await db.query('SELECT status, provider_ref FROM refunds WHERE payment_id = $1', [paid.id])).rows).toEqual([
      { status: 'succeeded', provider_ref: expect.stringMatching(/^re_/) },
    ]);
    expect((await asOperator(api().get(`/api/v1/billing/payments/${paid.id}`))).body.refundedMinor).toBe(400);
    // One refund at Stripe, whatever was asked: the retries and the reconciliation reused its key.
    expect(stripe.intents.get(paid.providerRef)!.refunded).toBe(400);
    expect((await reconcilePayments(paymentDeps(platform.deps.billing as ServiceDeps<'billing'>), 0)).refunds).toBe(0);
  });

  it('when a card is declined, then the payment fails, the invoice stays open, and another payment may follow', async () => {
    const invoiceId = await nextInvoice();
    const declined = await pay({ invoiceId, provider: 'stripe', paymentMethod: 'pm_card_chargeDeclined' });
    expect(declined.status).toBe(201);
    expect(declined.body).toMatchObject({ status: 'failed', failureReason: 'card_declined' });
    expect(await invoiceState(invoiceId)).toMatchObject({ status: 'finalized', paid_minor: '0' });
    expect((await pay({ invoiceId, provider: 'stripe', paymentMethod: 'pm_card_visa' })).body.status).toBe('succeeded');
  });

  it('when Stripe refuses a charge or a refund (4xx), then it failed, nothing is left pending, and the caller is told', async () => {
    const invoiceId = await nextInvoice();
    const refused = await pay({ invoiceId, provider: 'stripe', paymentMethod: 'pm_missing' });
    expect(refused.status).toBe(201);
    expect(refused.body).toMatchObject({ status: 'failed', failureReason: 'resource_missing' });
    const paid = (await pay({ invoiceId, provider: 'stripe', paymentMethod: 'pm_card_visa' })).body;
    expect(paid.status).toBe('succeeded');
    // Stripe is told the charge had less than we think (another refund made in its dashboard): it refuses.
    stripe.intents.get(paid.providerRef)!.refunded = 900;
    const refund = await asOperator(api().post(`/api/v1/billing/payments/${paid.id}/refunds`))
      .set('Idempotency-Key', randomBytes(8).toString('hex'))
      .send({ amountMinor: 500 });
    expect(refund.status).toBe(502);
    expect(refund.body.error.code).toBe('UPSTREAM_ERROR');
    const refunds = await db.query<{ status: string }>('SELECT status FROM refunds WHERE payment_id = $1', [paid.id]);
    expect(refunds.rows).toEqual([{ status: 'failed' }]);
    expect((await db.query("SELECT 1 FROM payments WHERE invoice_id = $1 AND status IN ('pending', 'processing')", [invoiceId])).rowCount).toBe(0);
  });

  it('when a payment is refunded in parts, then never more than was paid', async () => {
    const invoiceId = await nextInvoice();
    const payment = (await pay({ invoiceId, provider: 'stripe', paymentMethod: 'pm_card_visa' })).body;
    const refund = (body: object) => asOperator(api().post(`/api/v1/billing/payments/${payment.id}/refunds`)).send(body);
    expect((await refund({ amountMinor: 300, reason: 'goodwill' })).body).toMatchObject({ refundedMinor: 300 });
    const tooMuch = await refund({ amountMinor: 701 });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe('REFUND_EXCEEDS_PAYMENT');
    for (const amountMinor of [-1, 0, 1.5]) expect((await refund({ amountMinor })).status).toBe(400);
    expect((await refund({})).body).toMatchObject({ refundedMinor: 1000 });
    expect((await refund({ amountMinor: 1 })).status).toBe(422);
    const intent = [...stripe.intents.values()].find((i) => i.metadata.paymentId === payment.id)!;
    expect(intent.refunded).toBe(1000);
  });

  describe('webhooks', () => {
    const send = (event: { id: string; type: string; object: Record<string, unknown> }, options: { secret?: string; timestamp?: number } = {}) => {
      const { payload, signature } = signedStripeEvent(event, options.secret ?? WEBHOOK_SECRET, options.timestamp);
      return api().post('/api/v1/billing/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', signature).send(payload);
    };

    it('when the outcome of a charge was lost, then webhooks in any order, and again, settle it once', async () => {
      const invoiceId = await nextInvoice();
      // Stripe charges, but neither the answer nor the client's two retries with the same key get through.
      stripe.beforeNextChargeAnswer = { dropAnswers: 3 };
      const pending = await pay({ invoiceId, provider: 'stripe', paymentMethod: 'pm_card_visa' });
      expect(pending.status).toBe(201);
      expect(pending.body.status).toBe('pending');
      const intentId = [...stripe.intents.entries()].find(([, i]) => i.metadata.paymentId === pending.body.id)![0];
      const object = { id: intentId, object: 'payment_intent', metadata: { paymentId: pending.body.id } };

      // A bad signature, and a genuine one too old, change nothing.
      expect((await send({ id: 'evt_forged', type: 'payment_intent.succeeded', object }, { secret: 'whsec_someoneelse' })).status).toBe(400);
      const stale = await send({ id: 'evt_stale', type: 'payment_intent.succeeded', object }, { timestamp: Math.floor(Date.now() / 1000) - 400 });
      expect(stale.status).toBe(400);
      expect(stale.body.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
      const unsigned = await api().post('/api/v1/billing/webhooks/stripe').set('Content-Type', 'application/json').send('{}');
      expect(unsigned.status).toBe(400);
      expect(await invoiceState(invoiceId)).toMatchObject({ status: 'finalized', paid_minor: '0' });

      // Succeeded arrives before the earlier "processing", and twice.
      expect((await send({ id: 'evt_ok', type: 'payment_intent.succeeded', object })).body).toEqual({ received: true, duplicate: false });
      expect((await send({ id: 'evt_ok', type: 'payment_intent.succeeded', object })).body).toEqual({ received: true, duplicate: true });
      expect((await send({ id: 'evt_late', type: 'payment_intent.processing', object })).status).toBe(200);
      expect((await send({ id: 'evt_failed_late', type: 'payment_intent.payment_failed', object })).status).toBe(200);
      expect(await invoiceState(invoiceId)).toMatchObject({ status: 'paid', paid_minor: '1000' });
      const payment = await asOperator(api().get(`/api/v1/billing/payments/${pending.body.id}`));
      expect(payment.body).toMatchObject({ status: 'succeeded', providerRef: intentId });

      // Refund totals out of order: the larger, later total stands.
      const charge = (id: string, refunded: number) =>
        send({ id, type: 'charge.refunded', object: { id: `ch_${id}`, object: 'charge', payment_intent: intentId, amount_refunded: refunded } });
      await charge('evt_refund_2', 600);
      await charge('evt_refund_1', 200);
      expect((await asOperator(api().get(`/api/v1/billing/payments/${pending.body.id}`))).body.refundedMinor).toBe(600);
    });
  });
});

describe('a billing process killed between the charge and the invoice being marked paid', () => {
  let stripe: StripeStandIn;
  let platform: TestPlatform;
  let billing: RunningProcess | undefined;

  beforeAll(async () => {
    stripe = await startStripeStandIn();
    platform = await startTestPlatform({ services: ['billing'], env: { billing: { BILLING_JOBS: 'off', STRIPE_API_BASE: stripe.url } } });
  });
  afterAll(async () => {
    billing?.child.kill('SIGKILL');
    await platform?.close();
    await stripe?.close();
  });

  it('when it starts again, then reconciliation asks Stripe with the same key, and the invoice is paid once', async () => {
    const db = platform.deps.billing!.db;
    await insertPlan(db, 'crashplan', 2500);
    const tenantId = await insertBillableTenant(db, 'crashplan', at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'));
    await closePeriods(db, { tenantId, now: at('2026-02-02T00:00:00Z') });
    const invoiceId = (await db.query<{ id: string }>('SELECT id FROM invoices WHERE tenant_id = $1', [tenantId])).rows[0]!.id;
    const operatorAuth = serviceAuth(platform.deps.billing!, 'billing', { adminId: 'ops-1', roles: ['super_admin'] });
    const port = await freePort();
    const env = {
      NODE_ENV: 'test',
      DATABASE_URL: platform.bed.db.url,
      BILLING_PORT: String(port),
      STRIPE_API_BASE: stripe.url,
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
      LOG_LEVEL: 'info',
    };
    const start = async (jobs: 'on' | 'off') => {
      const running = runTypeScript('services/billing/src/main.ts', { ...env, BILLING_JOBS: jobs });
      await running.waitForOutput(/listening/, 30_000);
      return running;
    };
    const url = `http://127.0.0.1:${port}`;
    billing = await start('off');
    expect(
      (
        await request(url)
          .put('/api/v1/billing/providers/stripe')
          .set('Authorization', operatorAuth)
          .send({ secretKey: 'sk_test_crashtest0001', webhookSecret: WEBHOOK_SECRET })
      ).status,
    ).toBe(200);

    // Stripe takes the charge; the process dies before it hears so.
    const killed = billing;
    stripe.beforeNextChargeAnswer = { run: () => killed.child.kill('SIGKILL'), dropAnswers: 1 };
    const attempt = await request(url)
      .post('/api/v1/billing/payments')
      .set('Authorization', operatorAuth)
      .send({ invoiceId, provider: 'stripe', paymentMethod: 'pm_card_visa' })
      .then(
        (r) => r.status,
        () => 'no answer',
      );
    expect(attempt).toBe('no answer');
    await killed.exited;
    expect(stripe.intents.size).toBe(1);
    expect((await db.query('SELECT status FROM payments WHERE invoice_id = $1', [invoiceId])).rows).toEqual([{ status: 'pending' }]);
    expect((await db.query('SELECT status FROM invoices WHERE id = $1', [invoiceId])).rows[0].status).toBe('finalized');

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    billing = await start('on');
    const deadline = Date.now() + 20_000;
    let status = '';
    while (Date.now() < deadline) {
      status = (await db.query('SELECT status FROM invoices WHERE id = $1', [invoiceId])).rows[0].status;
      if (status === 'paid') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe('paid');
    expect((await db.query('SELECT status, amount_minor FROM payments WHERE invoice_id = $1', [invoiceId])).rows).toEqual([
      { status: 'succeeded', amount_minor: '2500' },
    ]);
    expect((await db.query('SELECT paid_minor FROM invoices WHERE id = $1', [invoiceId])).rows[0].paid_minor).toBe('2500');
    expect(stripe.intents.size).toBe(1);
  }, 90_000);
});
