import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Pool, ServiceDeps } from '@codex/shared';
import { dunningDeps } from '../src/app';
import { runDunning } from '../src/domain/dunning';
import { closePeriods } from '../src/domain/invoicing';
import { paymentDeps } from '../src/routes/payment-routes';
import { insertBillableTenant, insertPlan } from '../../../test/support/billing';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const at = (iso: string) => new Date(iso);

/** Voiding, writing off, and the revenue view over them, through the gateway. */
describe('invoice lifecycle and revenue', () => {
  let platform: TestPlatform;
  let db: Pool;
  let operator: string;
  const invoice = { aJan: '', aFeb: '', bJan: '' };
  let tenantA: string;

  const api = () => request(platform.gateway.url);
  const asOperator = (call: request.Test) => call.set('Authorization', `Bearer ${operator}`);
  const pay = (invoiceId: string, amountMinor: number) =>
    asOperator(api().post('/api/v1/billing/payments'))
      .set('Idempotency-Key', randomBytes(8).toString('hex'))
      .send({ invoiceId, provider: 'manual', reference: `BANK-${randomBytes(3).toString('hex')}`, amountMinor });
  const close = (invoiceId: string, status: 'void' | 'uncollectible', body: object = {}) =>
    asOperator(api().post(`/api/v1/billing/tenant-invoices/${invoiceId}/${status}`)).send(body);
  const invoicesOf = async (tenantId: string) =>
    (await db.query<{ id: string }>('SELECT id FROM invoices WHERE tenant_id = $1 ORDER BY period_start', [tenantId])).rows.map((row) => row.id);

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['billing'], env: { billing: { BILLING_JOBS: 'off', DUNNING_GRACE_DAYS: '10' } } });
    db = platform.deps.billing!.db;
    operator = await platform.newOperatorToken();
    await insertPlan(db, 'lifecycle-monthly', 1000);
    tenantA = await insertBillableTenant(db, 'lifecycle-monthly', at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'));
    const tenantB = await insertBillableTenant(db, 'lifecycle-monthly', at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'));
    // January's invoices are issued on Feb 2, A's February on Mar 2.
    await closePeriods(db, { now: at('2026-02-02T00:00:00Z') });
    await closePeriods(db, { tenantId: tenantA, now: at('2026-03-02T00:00:00Z') });
    const [aJan, aFeb] = await invoicesOf(tenantA);
    Object.assign(invoice, { aJan, aFeb, bJan: (await invoicesOf(tenantB))[0] });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('when an overdue invoice is voided, then it keeps its number, takes no payment, and the suspension it caused is lifted', async () => {
    const billing = platform.deps.billing as ServiceDeps<'billing'>;
    await runDunning(dunningDeps(billing, paymentDeps(billing)), at('2026-04-15T00:00:00Z'), tenantA);
    expect((await db.query('SELECT status, suspended_for FROM tenants WHERE id = $1', [tenantA])).rows[0]).toEqual({
      status: 'suspended',
      suspended_for: 'unpaid',
    });

    expect((await pay(invoice.aJan, 1000)).status).toBe(201);
    const voided = await close(invoice.aFeb, 'void', { reason: 'issued on the wrong plan' });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ status: 'void', number: expect.stringMatching(/^INV-2026-\d{6}$/), voidedAt: expect.any(String), paidMinor: 0 });
    expect((await db.query('SELECT status, suspended_for FROM tenants WHERE id = $1', [tenantA])).rows[0]).toEqual({ status: 'active', suspended_for: null });
    expect((await db.query(`SELECT details FROM audit_log WHERE action = 'billing.invoice_voided' AND target_id = $1`, [invoice.aFeb])).rows[0]).toMatchObject({
      details: { reason: 'issued on the wrong plan', after: { status: 'void' } },
    });

    expect((await pay(invoice.aFeb, 1000)).body.error.code).toBe('INVOICE_STATE');
    expect((await close(invoice.aFeb, 'void')).status).toBe(409);
    expect((await close(invoice.aFeb, 'uncollectible')).status).toBe(409);
    // Paid: refunds, not voiding, undo it.
    expect((await close(invoice.aJan, 'void')).body.error.code).toBe('INVOICE_STATE');
  });

  it('when part of an invoice is written off, then it cannot be voided', async () => {
    expect((await pay(invoice.bJan, 400)).status).toBe(201);
    const written = await close(invoice.bJan, 'uncollectible');
    expect(written.body).toMatchObject({ status: 'uncollectible', paidMinor: 400 });
    const voiding = await close(invoice.bJan, 'void');
    expect(voiding.status).toBe(409);
    expect(voiding.body.error.message).toContain('payments');
    expect((await asOperator(api().get(`/api/v1/billing/tenant-invoices/${invoice.bJan}`))).body.status).toBe('uncollectible');
  });

  it('when revenue is read, then each month of issue shows billed, collected, refunded, outstanding and written off', async () => {
    const payment = (await asOperator(api().get(`/api/v1/billing/payments?invoiceId=${invoice.aJan}`))).body.items[0];
    expect(
      (
        await asOperator(api().post(`/api/v1/billing/payments/${payment.id}/refunds`))
          .set('Idempotency-Key', randomBytes(8).toString('hex'))
          .send({ amountMinor: 300 })
      ).status,
    ).toBe(201);
    const read = await asOperator(api().get('/api/v1/billing/revenue?from=2026-02-01T00:00:00Z&to=2026-04-01T00:00:00Z'));
    expect(read.status).toBe(200);
    expect(read.body.items).toEqual([
      {
        period: '2026-02',
        currency: 'USD',
        invoices: 2,
        voidedInvoices: 0,
        billedMinor: 2000,
        collectedMinor: 1400,
        refundedMinor: 300,
        creditedMinor: 0,
        outstandingMinor: 0,
        writtenOffMinor: 600,
      },
      {
        period: '2026-03',
        currency: 'USD',
        invoices: 0,
        voidedInvoices: 1,
        billedMinor: 0,
        collectedMinor: 0,
        refundedMinor: 0,
        creditedMinor: 0,
        outstandingMinor: 0,
        writtenOffMinor: 0,
      },
    ]);
    expect((await asOperator(api().get('/api/v1/billing/revenue?from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z'))).status).toBe(400);
    expect((await asOperator(api().get('/api/v1/billing/revenue?from=yesterday'))).status).toBe(400);

    // A payment after the write-off still settles the invoice.
    expect((await pay(invoice.bJan, 600)).status).toBe(201);
    expect((await asOperator(api().get(`/api/v1/billing/tenant-invoices/${invoice.bJan}`))).body).toMatchObject({ status: 'paid', paidMinor: 1000 });
    const after = await asOperator(api().get('/api/v1/billing/revenue?from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z'));
    expect(after.body.items[0]).toMatchObject({ collectedMinor: 2000, writtenOffMinor: 0 });
  });

  it('when an invoice is downloaded, then the PDF and the HTML carry its number, lines and totals, escaped', async () => {
    await db.query(`UPDATE tenants SET name = '<script>alert(1)</script> & Co' WHERE id = $1`, [tenantA]);
    const number = (await asOperator(api().get(`/api/v1/billing/tenant-invoices/${invoice.aJan}`))).body.number as string;
    const pdf = await asOperator(api().get(`/api/v1/billing/tenant-invoices/${invoice.aJan}/document`))
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(pdf.status).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.headers['content-disposition']).toContain(`${number}.pdf`);
    expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    const html = await asOperator(api().get(`/api/v1/billing/tenant-invoices/${invoice.aJan}/document?format=html`));
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.text).toContain(number);
    expect(html.text).toContain('$10.00');
    expect(html.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
    expect(html.text).not.toContain('<script>');
    expect((await asOperator(api().get(`/api/v1/billing/tenant-invoices/${invoice.aJan}/document?format=doc`))).status).toBe(400);
  });

  it('when a page past the last row is asked, then the total is still the number of rows', async () => {
    const all = await asOperator(api().get('/api/v1/billing/payments'));
    const past = await asOperator(api().get('/api/v1/billing/payments?offset=90'));
    expect(past.body).toEqual({ items: [], total: all.body.total });
    expect(all.body.total).toBeGreaterThan(0);
    const invoices = await asOperator(api().get('/api/v1/billing/tenant-invoices?offset=90'));
    expect(invoices.body).toEqual({ items: [], total: 3 });
  });

  it('when a tenant tries the admin invoice routes, then it is refused and nothing changes', async () => {
    const tenant = await platform.newTenant();
    expect((await platform.as(tenant).get('/api/v1/billing/revenue')).status).toBe(403);
    // Another tenant's invoice reads as non-existent through the tenant's own route.
    expect((await platform.as(tenant).get(`/api/v1/billing/invoices/${invoice.bJan}/document`)).status).toBe(404);
    expect((await platform.as(tenant).post(`/api/v1/billing/tenant-invoices/${invoice.bJan}/void`).send({})).status).toBe(403);
    expect((await asOperator(api().get(`/api/v1/billing/tenant-invoices/${invoice.bJan}`))).body.status).toBe('paid');
  });
});
