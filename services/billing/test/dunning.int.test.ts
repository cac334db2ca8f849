import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Pool, ServiceDeps } from '@codex/shared';
import { dunningDeps } from '../src/app';
import { runDunning } from '../src/domain/dunning';
import { closePeriods } from '../src/domain/invoicing';
import { paymentDeps } from '../src/routes/payment-routes';
import { insertPlan } from '../../../test/support/billing';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';
import { serviceAuth } from '../../../test/support/service-auth';
import { startStripeStandIn, type StripeStandIn } from '../../../test/support/stripe-stand-in';

const DAY_MS = 86_400_000;
const at = (iso: string) => new Date(iso);

/**
 * Dunning end to end: invoices made by the period close, the job run at
 * chosen times, suspension and reactivation through the admin service, and
 * what a tenant's app then gets from the gateway.
 */
describe('dunning', () => {
  let stripe: StripeStandIn;
  let platform: TestPlatform;
  let db: Pool;
  let operator: string;

  const api = () => request(platform.gateway.url);
  const asOperator = (call: request.Test) => call.set('Authorization', `Bearer ${operator}`);
  const dunning = () => {
    const billing = platform.deps.billing as ServiceDeps<'billing'>;
    return dunningDeps(billing, paymentDeps(billing));
  };
  const runAt = (tenantId: string, dueAt: Date, days: number) => runDunning(dunning(), new Date(dueAt.getTime() + days * DAY_MS), tenantId);
  const stateOf = async (tenantId: string) =>
    (await db.query<{ state: string }>('SELECT state FROM tenant_dunning WHERE tenant_id = $1', [tenantId])).rows[0]?.state ?? 'clear';
  const tenantRow = async (tenantId: string) =>
    (await db.query<{ status: string; suspended_for: string | null }>('SELECT status, suspended_for FROM tenants WHERE id = $1', [tenantId])).rows[0]!;
  const audit = async (tenantId: string, action: string) =>
    (
      await db.query<{ actor_type: string; actor_id: string; details: Record<string, unknown> }>(
        'SELECT actor_type, actor_id, details FROM audit_log WHERE tenant_id = $1 AND action = $2 ORDER BY id',
        [tenantId, action],
      )
    ).rows;

  /** A tenant billed 1,000 a month from January; its invoices are made by the close at the start of each month. */
  async function billedTenant(): Promise<PlatformTenant> {
    const tenant = await platform.newTenant();
    await db.query(`UPDATE tenants SET created_at = $2 WHERE id = $1`, [tenant.id, at('2026-01-01T00:00:00Z')]);
    await db.query(
      `UPDATE tenant_plans SET plan_code = 'dunning-monthly', plan_version = 1, anchor_at = $2, period_start = $2, period_end = $3 WHERE tenant_id = $1`,
      [tenant.id, at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z')],
    );
    return tenant;
  }

  /** Closes the tenant's periods up to `now`: its newest invoice and when it falls due. */
  async function invoiceOf(tenantId: string, now: Date): Promise<{ invoiceId: string; dueAt: Date }> {
    await closePeriods(db, { tenantId, now });
    const { rows } = await db.query<{ id: string; due_at: Date }>(`SELECT id, due_at FROM invoices WHERE tenant_id = $1 ORDER BY period_start DESC LIMIT 1`, [
      tenantId,
    ]);
    return { invoiceId: rows[0]!.id, dueAt: rows[0]!.due_at };
  }

  beforeAll(async () => {
    stripe = await startStripeStandIn();
    platform = await startTestPlatform({
      services: ['billing'],
      env: {
        billing: { BILLING_JOBS: 'off', STRIPE_API_BASE: stripe.url, STRIPE_TIMEOUT_MS: '2000', DUNNING_RETRY_DAYS: '1,3', DUNNING_GRACE_DAYS: '10' },
        // Suspension shows at the gateway on the next key lookup, not 30 s later.
        gateway: { API_KEY_CACHE_MS: '1' },
      },
    });
    db = platform.deps.billing!.db;
    operator = await platform.newOperatorToken();
    await insertPlan(db, 'dunning-monthly', 1000);
    const stripeKeys = { secretKey: `sk_test_${randomBytes(12).toString('hex')}`, webhookSecret: `whsec_${randomBytes(16).toString('hex')}` };
    expect((await asOperator(api().put('/api/v1/billing/providers/stripe')).send(stripeKeys)).status).toBe(200);
  });
  afterAll(async () => {
    await platform?.close();
    await stripe?.close();
  });

  it('when an invoice stays unpaid, then the tenant goes past due, into grace, and is suspended at the gateway; paying restores it', async () => {
    const tenant = await billedTenant();
    const { invoiceId, dueAt } = await invoiceOf(tenant.id, at('2026-02-02T00:00:00Z'));
    const me = () => platform.as(tenant).get('/api/v1/auth/me');

    await runAt(tenant.id, dueAt, -1);
    expect(await stateOf(tenant.id)).toBe('clear');
    await runAt(tenant.id, dueAt, 0.5);
    expect(await stateOf(tenant.id)).toBe('past_due');
    await runAt(tenant.id, dueAt, 4);
    expect(await stateOf(tenant.id)).toBe('grace');
    expect((await me()).status).toBe(200);

    expect(await runAt(tenant.id, dueAt, 10.5)).toMatchObject({ suspended: 1 });
    expect(await stateOf(tenant.id)).toBe('suspended');
    expect(await tenantRow(tenant.id)).toEqual({ status: 'suspended', suspended_for: 'unpaid' });
    const refused = await me();
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'TENANT_SUSPENDED', message: expect.stringContaining('unpaid invoice') });
    // Its app may still learn why.
    expect((await platform.as(tenant).get('/api/v1/subscription/entitlements')).status).not.toBe(403);
    const admin = await asOperator(api().get(`/api/v1/admin/tenants/${tenant.id}`));
    expect(admin.body).toMatchObject({ status: 'suspended', suspendedFor: 'unpaid' });
    const listed = await asOperator(api().get('/api/v1/billing/dunning?state=suspended'));
    expect(listed.body.items).toContainEqual(expect.objectContaining({ tenantId: tenant.id, invoiceId, state: 'suspended', outstandingMinor: 1000 }));

    // Running again changes nothing: one suspension, audited by the admin service as done by billing.
    await runAt(tenant.id, dueAt, 11);
    const suspensions = await audit(tenant.id, 'tenant.suspended');
    expect(suspensions).toHaveLength(1);
    expect(suspensions[0]).toMatchObject({ actor_type: 'service', actor_id: 'billing', details: expect.objectContaining({ reason: 'unpaid', invoiceId }) });

    const paid = await asOperator(api().post('/api/v1/billing/payments'))
      .set('Idempotency-Key', randomBytes(8).toString('hex'))
      .send({ invoiceId, provider: 'manual', reference: 'BANK-DUNNING-1' });
    expect(paid.status).toBe(201);
    expect(await tenantRow(tenant.id)).toEqual({ status: 'active', suspended_for: null });
    expect(await stateOf(tenant.id)).toBe('clear');
    expect((await me()).status).toBe(200);
    expect(await audit(tenant.id, 'tenant.reactivated')).toHaveLength(1);
    expect((await asOperator(api().get('/api/v1/billing/dunning'))).body.items).not.toContainEqual(expect.objectContaining({ tenantId: tenant.id }));
  });

  it('when the tenant has a saved card, then a failed charge is retried once on each retry day, and a success ends dunning', async () => {
    const tenant = await billedTenant();
    const { invoiceId, dueAt } = await invoiceOf(tenant.id, at('2026-02-02T00:00:00Z'));
    const saveCard = (paymentMethod: string) =>
      asOperator(api().patch(`/api/v1/billing/tenants/${tenant.id}/settings`)).send({ stripeCustomerId: 'cus_dunning1', stripePaymentMethodId: paymentMethod });
    expect((await saveCard('pm_card_chargeDeclined')).status).toBe(200);
    // Charges asked of Stripe: one idempotency key each, however often the client retried.
    const charges = () => new Set(stripe.requests.filter((r) => r.path === '/v1/payment_intents').map((r) => r.idempotencyKey)).size;
    const attempts = async () =>
      (await db.query<{ status: string }>(`SELECT status FROM payments WHERE invoice_id = $1 AND actor_id IS NULL ORDER BY created_at`, [invoiceId])).rows.map(
        (row) => row.status,
      );
    const before = charges();

    expect(await runAt(tenant.id, dueAt, 0.5)).toMatchObject({ retried: 0 });
    expect(await runAt(tenant.id, dueAt, 1.5)).toMatchObject({ retried: 1, past_due: 1 });
    expect(await runAt(tenant.id, dueAt, 2)).toMatchObject({ retried: 0 });
    expect(await attempts()).toEqual(['failed']);

    expect((await saveCard('pm_card_visa')).status).toBe(200);
    expect(await runAt(tenant.id, dueAt, 3.5)).toMatchObject({ retried: 1, clear: 1 });
    expect(await attempts()).toEqual(['failed', 'succeeded']);
    expect(charges() - before).toBe(2);
    expect((await db.query<{ status: string }>('SELECT status FROM invoices WHERE id = $1', [invoiceId])).rows[0]!.status).toBe('paid');
    expect(await stateOf(tenant.id)).toBe('clear');
    expect(await tenantRow(tenant.id)).toEqual({ status: 'active', suspended_for: null });
  });

  it('when an admin suspended the tenant, then dunning neither takes over nor lifts that suspension', async () => {
    const tenant = await billedTenant();
    const { invoiceId, dueAt } = await invoiceOf(tenant.id, at('2026-02-02T00:00:00Z'));
    expect((await asOperator(api().patch(`/api/v1/admin/tenants/${tenant.id}`)).send({ status: 'suspended' })).body).toMatchObject({ suspendedFor: 'admin' });

    await runAt(tenant.id, dueAt, 12);
    expect(await stateOf(tenant.id)).toBe('suspended');
    expect(await tenantRow(tenant.id)).toEqual({ status: 'suspended', suspended_for: 'admin' });
    await asOperator(api().post('/api/v1/billing/payments'))
      .set('Idempotency-Key', randomBytes(8).toString('hex'))
      .send({ invoiceId, provider: 'manual', reference: 'BANK-DUNNING-3' })
      .expect(201);
    expect(await stateOf(tenant.id)).toBe('clear');
    expect(await tenantRow(tenant.id)).toEqual({ status: 'suspended', suspended_for: 'admin' });
    expect(await audit(tenant.id, 'tenant.reactivated')).toHaveLength(0);
  });

  it('when anything but billing asks the admin service to hold a tenant, then it is refused; a tenant cannot read dunning', async () => {
    const tenant = await platform.newTenant();
    const hold = (caller: 'gateway' | 'crm' | 'billing', body: object) =>
      request(platform.services.admin!.url)
        .post(`/internal/tenants/${tenant.id}/billing-hold`)
        .set('Authorization', serviceAuth(platform.deps.admin!, 'admin', undefined, caller))
        .send(body);
    expect((await hold('gateway', { hold: true })).status).toBe(403);
    expect((await hold('crm', { hold: true })).body.error.code).toBe('CALLER_NOT_ALLOWED');
    expect((await hold('billing', { hold: 'yes' })).status).toBe(400);
    expect(await tenantRow(tenant.id)).toEqual({ status: 'active', suspended_for: null });
    const unknown = await request(platform.services.admin!.url)
      .post(`/internal/tenants/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/billing-hold`)
      .set('Authorization', serviceAuth(platform.deps.admin!, 'admin', undefined, 'billing'))
      .send({ hold: true });
    expect(unknown.status).toBe(404);

    expect((await platform.as(tenant).get('/api/v1/billing/dunning')).status).toBe(403);
    expect((await platform.as(tenant).post('/api/v1/billing/dunning/run').send({})).status).toBe(403);
  });
});
