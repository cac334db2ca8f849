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

/** Corrections of finalized invoices by credit notes, through the gateway. */
describe('credit notes', () => {
  let platform: TestPlatform;
  let db: Pool;
  let operator: string;
  let tenantId: string;
  let invoices: string[];

  const api = () => request(platform.gateway.url);
  const asOperator = (call: request.Test) => call.set('Authorization', `Bearer ${operator}`);
  const credit = (invoiceId: string, body: object, key = randomBytes(8).toString('hex')) =>
    asOperator(api().post(`/api/v1/billing/tenant-invoices/${invoiceId}/credit-notes`))
      .set('Idempotency-Key', key)
      .send(body);
  const invoiceOf = async (id: string) => (await asOperator(api().get(`/api/v1/billing/tenant-invoices/${id}`))).body;
  const tenantState = async () => (await db.query('SELECT status, suspended_for FROM tenants WHERE id = $1', [tenantId])).rows[0];

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['billing'], env: { billing: { BILLING_JOBS: 'off', DUNNING_GRACE_DAYS: '10' } } });
    db = platform.deps.billing!.db;
    operator = await platform.newOperatorToken();
    await insertPlan(db, 'credit-monthly', 1000);
    tenantId = await insertBillableTenant(db, 'credit-monthly', at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'));
    await closePeriods(db, { tenantId, now: at('2026-04-02T00:00:00Z') });
    invoices = (await db.query<{ id: string }>('SELECT id FROM invoices WHERE tenant_id = $1 ORDER BY period_start', [tenantId])).rows.map((r) => r.id);
    expect(invoices).toHaveLength(3);
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('when part of an invoice is credited, then the invoice stays as issued, owes the rest, and a payment of the rest settles it', async () => {
    const [january] = invoices;
    const key = randomBytes(8).toString('hex');
    const first = await credit(january!, { amountMinor: 300, reason: 'outage on Jan 12' }, key);
    expect(first.status).toBe(201);
    expect(first.body.creditNote).toMatchObject({ invoiceId: january, tenantId, amountMinor: 300, currency: 'USD', reason: 'outage on Jan 12' });
    expect(first.body.creditNote.number).toMatch(/^CN-\d{4}-\d{6}$/);
    expect(first.body.invoice).toMatchObject({ status: 'finalized', totalMinor: 1000, creditedMinor: 300, paidMinor: 0 });
    // The same request again is the same credit note, not a second one.
    expect((await credit(january!, { amountMinor: 300, reason: 'outage on Jan 12' }, key)).body.creditNote.id).toBe(first.body.creditNote.id);

    const paid = await asOperator(api().post('/api/v1/billing/payments'))
      .set('Idempotency-Key', randomBytes(8).toString('hex'))
      .send({ invoiceId: january, provider: 'manual', reference: 'BANK-1' });
    expect(paid.body).toMatchObject({ status: 'succeeded', amountMinor: 700 });
    expect(await invoiceOf(january!)).toMatchObject({ status: 'paid', paidMinor: 700, creditedMinor: 300, totalMinor: 1000 });

    // Paid already: a credit is owed back, up to what has not been credited.
    expect((await credit(january!, { amountMinor: 701, reason: 'too much' })).status).toBe(422);
    expect((await credit(january!, { amountMinor: 200, reason: 'goodwill' })).body.invoice).toMatchObject({ status: 'paid', creditedMinor: 500 });

    const html = await asOperator(api().get(`/api/v1/billing/tenant-invoices/${january}/document`)).query({ format: 'html' });
    expect(html.text).toContain('Credited');
  });

  it('when an overdue invoice is credited in full, then it is paid and the suspension it caused is lifted', async () => {
    const billing = platform.deps.billing as ServiceDeps<'billing'>;
    const [, february, march] = invoices;
    await asOperator(api().post(`/api/v1/billing/tenant-invoices/${march}/void`)).send({});
    await runDunning(dunningDeps(billing, paymentDeps(billing)), at('2026-05-15T00:00:00Z'), tenantId);
    expect(await tenantState()).toEqual({ status: 'suspended', suspended_for: 'unpaid' });

    const full = await credit(february!, { amountMinor: 1000, reason: 'plan never delivered' });
    expect(full.body.invoice).toMatchObject({ status: 'paid', creditedMinor: 1000, paidMinor: 0 });
    expect(await tenantState()).toEqual({ status: 'active', suspended_for: null });
    expect((await db.query(`SELECT details FROM audit_log WHERE action = 'billing.credit_note_issued' AND target_id = $1`, [february])).rows[0]).toMatchObject({
      details: { amountMinor: 1000, reason: 'plan never delivered' },
    });
  });

  it('when a credit note is bad, on a void invoice or changed afterwards, then it is refused and nothing is written', async () => {
    const [january, , march] = invoices;
    const before = (await db.query('SELECT count(*)::int AS n FROM credit_notes')).rows[0].n;
    for (const body of [
      { amountMinor: 0, reason: 'x' },
      { amountMinor: -5, reason: 'x' },
      { amountMinor: 1.5, reason: 'x' },
      { amountMinor: 10 },
      { amountMinor: 10, reason: ' ' },
    ])
      expect((await credit(january!, body)).status).toBe(400);
    expect((await credit(march!, { amountMinor: 10, reason: 'x' })).body.error.code).toBe('INVOICE_STATE');
    expect((await credit('00000000-0000-4000-8000-000000000000', { amountMinor: 10, reason: 'x' })).status).toBe(404);
    expect((await db.query('SELECT count(*)::int AS n FROM credit_notes')).rows[0].n).toBe(before);
    await expect(db.query(`UPDATE credit_notes SET amount_minor = 1 WHERE tenant_id = $1`, [tenantId])).rejects.toThrow();
    await expect(db.query(`DELETE FROM credit_notes WHERE tenant_id = $1`, [tenantId])).rejects.toThrow();

    const listed = await asOperator(api().get('/api/v1/billing/tenant-credit-notes')).query({ tenantId });
    expect(listed.body.total).toBe(3);
    const numbers = listed.body.items.map((note: { number: string }) => Number(note.number.slice(-6))).sort((a: number, b: number) => a - b);
    expect(numbers).toEqual([numbers[0], numbers[0] + 1, numbers[0] + 2]);
    const revenue = await asOperator(api().get('/api/v1/billing/revenue')).query({ from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' });
    expect(revenue.body.items.reduce((sum: number, row: { creditedMinor: number }) => sum + row.creditedMinor, 0)).toBeGreaterThanOrEqual(1500);
  });
});
