import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { prorationOfChange, type Pool } from '@codex/shared';
import { closePeriods } from '../src/domain/invoicing';
import { ingestGatewayEvents } from '../src/domain/metering';
import { insertBillableTenant, insertPlan } from '../../../test/support/billing';
import { runTypeScript } from '../../../test/support/processes';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';

const at = (iso: string) => new Date(iso);

async function invoicesOf(db: Pool, tenantId: string) {
  const { rows } = await db.query<{
    id: string;
    number: string;
    status: string;
    period_start: Date;
    period_end: Date;
    subtotal_minor: string;
    tax_minor: string;
    total_minor: string;
  }>('SELECT * FROM invoices WHERE tenant_id = $1 ORDER BY period_start', [tenantId]);
  return rows.map((r) => ({ ...r, subtotal: Number(r.subtotal_minor), tax: Number(r.tax_minor), total: Number(r.total_minor) }));
}

describe('period close: invoices of the platform to its tenants', () => {
  let platform: TestPlatform;
  let db: Pool;
  let operator: string;
  let owner: PlatformTenant;
  const tenants: Record<string, string> = {};
  const now = at('2026-04-05T12:00:00Z');

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['billing'], env: { billing: { BILLING_JOBS: 'off' } } });
    db = platform.deps.billing!.db;
    operator = await platform.newOperatorToken();
    await insertPlan(db, 'basic', 1000);
    await insertPlan(db, 'odd', 999);
    await insertPlan(db, 'pro', 3000, { included: 100, unit: 50, calls: 10 });

    tenants.plain = await insertBillableTenant(db, 'basic', at('2026-03-10T00:00:00Z'), at('2026-04-10T00:00:00Z'));

    // Basic from Mar 1, pro from Mar 16 00:00 (16 of the period's 31 days left).
    tenants.upgrade = await insertBillableTenant(db, 'pro', at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'));
    const period = { start: at('2026-03-01T00:00:00Z'), end: at('2026-04-01T00:00:00Z') };
    const proration = prorationOfChange(1000, 3000, period, at('2026-03-16T00:00:00Z'));
    expect(proration).toBe(1548 - 516);
    await db.query(
      `INSERT INTO tenant_plan_changes (tenant_id, from_code, from_version, to_code, to_version, kind, effective_at, proration_minor, currency)
       VALUES ($1, 'basic', 1, 'pro', 1, 'upgrade', '2026-03-16T00:00:00Z', $2, 'USD')`,
      [tenants.upgrade, proration],
    );

    // 125 calls in March: 25 beyond the 100 included, three started blocks of 10.
    tenants.overage = await insertBillableTenant(db, 'pro', at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'));
    const calls = Array.from({ length: 125 }, (_, i) => ({
      id: randomUUID(),
      tenantId: tenants.overage!,
      occurredAt: new Date(Date.UTC(2026, 2, 5, 10, 0, i)).toISOString(),
      code: 'api_request',
      properties: { status: 200 },
    }));
    expect((await ingestGatewayEvents(db, calls, 13)).accepted).toBe(125);

    tenants.tax = await insertBillableTenant(db, 'odd', at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'));
    tenants.lastDay = await insertBillableTenant(db, 'basic', at('2026-01-31T00:00:00Z'), at('2026-02-28T00:00:00Z'));

    owner = await platform.newTenant();
  });
  afterAll(() => platform?.close());

  it('when the tax rate is set by an admin, then it is validated and kept', async () => {
    const set = (body: object, id = tenants.tax) =>
      request(platform.gateway.url).patch(`/api/v1/billing/tenants/${id}/settings`).set('Authorization', `Bearer ${operator}`).send(body);
    expect((await set({ taxRateBp: 1250 })).body).toMatchObject({ taxRateBp: 1250, paymentTermsDays: 14 });
    for (const bad of [{ taxRateBp: -1 }, { taxRateBp: 10_001 }, { taxRateBp: 12.5 }, { taxRateBp: '1250' }, {}, { paymentTermsDays: 400 }])
      expect((await set(bad)).status).toBe(400);
    expect((await set({ taxRateBp: 10 }, randomUUID())).status).toBe(404);
  });

  it('when the periods close, then each invoice matches its hand-computed total', async () => {
    const { invoices } = await closePeriods(db, { now });
    expect(invoices).toBe(5);

    const plain = await invoicesOf(db, tenants.plain!);
    expect(plain).toHaveLength(0); // its first period ends Apr 10, after `now`

    const [upgrade] = await invoicesOf(db, tenants.upgrade!);
    expect(upgrade).toMatchObject({ subtotal: 1000 + 1032, tax: 0, total: 2032, status: 'finalized' });

    const [overage] = await invoicesOf(db, tenants.overage!);
    expect(overage!.total).toBe(3000 + 3 * 50);

    const [tax] = await invoicesOf(db, tenants.tax!);
    // 12.5 % of 999 is 124.875: rounded half away from zero, 125.
    expect(tax).toMatchObject({ subtotal: 999, tax: 125, total: 1124 });

    // Anchored on Jan 31: periods end Feb 28 and Mar 31 (not Mar 28); the next ends Apr 30.
    const lastDay = await invoicesOf(db, tenants.lastDay!);
    expect(lastDay.map((i) => [i.period_start.toISOString(), i.period_end.toISOString(), i.total])).toEqual([
      ['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z', 1000],
      ['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z', 1000],
    ]);
  });

  it('when the close runs again, then it invoices nothing, and numbers run without gaps', async () => {
    expect(await closePeriods(db, { now })).toEqual({ invoices: 0 });
    const { rows } = await db.query<{ number: string }>(`SELECT number FROM invoices WHERE number LIKE 'INV-2026-%' ORDER BY number`);
    expect(rows.map((r) => r.number)).toEqual(rows.map((_, i) => `INV-2026-${String(i + 1).padStart(6, '0')}`));
  });

  it('when an invoice is verified, then it is recomputed from its events, and a change in them shows', async () => {
    const [invoice] = await invoicesOf(db, tenants.overage!);
    const verify = () => request(platform.gateway.url).get(`/api/v1/billing/invoices/${invoice!.id}/verify`).set('Authorization', `Bearer ${operator}`);
    const first = await verify();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ matches: true, recomputable: true, recomputed: { totalMinor: 3150, apiCalls: 125 } });

    // Events the aggregates never counted (written around ingest): the recount no longer matches.
    await db.query(
      `INSERT INTO usage_events (tenant_id, source, event_id, occurred_at, code) SELECT $1, 'gateway', gen_random_uuid()::text, '2026-03-20T10:00:00Z', 'api_request' FROM generate_series(1, 10)`,
      [tenants.overage],
    );
    expect((await verify()).body).toMatchObject({ matches: false, recomputed: { totalMinor: 3200, apiCalls: 135 }, stored: { totalMinor: 3150 } });
  });

  it('when a finalized invoice is edited in the database, then PostgreSQL refuses', async () => {
    const [invoice] = await invoicesOf(db, tenants.upgrade!);
    const refusal = (sql: string) =>
      db.query(sql, [invoice!.id]).then(
        () => 'changed',
        (err: Error & { cause?: Error }) => (err.cause ?? err).message,
      );
    expect(await refusal('UPDATE invoices SET total_minor = 1, subtotal_minor = 1 WHERE id = $1')).toMatch(/is final and cannot change/);
    expect(await refusal('DELETE FROM invoice_lines WHERE invoice_id = $1')).toMatch(/lines of a final invoice cannot change/);
    expect(await refusal(`UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = $1`)).toBe('changed');
    expect(await refusal(`UPDATE invoices SET status = 'finalized' WHERE id = $1`)).toMatch(/is paid and cannot become finalized/);
  });

  it('when tenants read invoices, then each sees only its own, and admins see all', async () => {
    const [invoice] = await invoicesOf(db, tenants.upgrade!);
    expect((await platform.as(owner).get('/api/v1/billing/invoices')).body).toEqual({ items: [], total: 0 });
    expect((await platform.as(owner).get(`/api/v1/billing/invoices/${invoice!.id}`)).status).toBe(404);
    const admin = await request(platform.gateway.url)
      .get(`/api/v1/billing/tenant-invoices?tenantId=${tenants.upgrade}`)
      .set('Authorization', `Bearer ${operator}`);
    expect(admin.body.total).toBe(1);
    expect(admin.body.items[0].lines.map((l: { kind: string; amountMinor: number }) => [l.kind, l.amountMinor])).toEqual([
      ['plan', 1000],
      ['proration', 1032],
    ]);
    expect((await platform.as(owner).get(`/api/v1/billing/tenant-invoices/${invoice!.id}`)).status).toBe(403);
    expect((await request(platform.gateway.url).get('/api/v1/billing/tenant-invoices?status=unknown').set('Authorization', `Bearer ${operator}`)).status).toBe(
      400,
    );
  });

  it('when the close is killed midway and run again, then every period has one invoice and the numbers have no gaps', async () => {
    await insertPlan(db, 'bulk', 500);
    const bulk: string[] = [];
    for (let i = 0; i < 60; i++) bulk.push(await insertBillableTenant(db, 'bulk', at('2025-12-01T00:00:00Z'), at('2026-01-01T00:00:00Z')));
    const env = { DATABASE_URL: platform.bed.db.url, SECRETS_KEYS: '', LOG_LEVEL: 'warn', DATA_DIR: `/tmp/billing-cli-${randomBytes(4).toString('hex')}` };
    const args = ['close-periods', '--now', '2026-12-20T00:00:00Z'];
    const countBulk = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM invoices WHERE tenant_id = ANY($1)', [bulk])).rows[0]!.n);

    const first = runTypeScript('scripts/billing.ts', env, args);
    while ((await countBulk()) < 20) {
      if (first.child.exitCode !== null) throw new Error(`the close ended before it could be killed:\n${first.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const partial = await countBulk();
    expect(partial).toBeLessThan(60 * 12);

    const second = runTypeScript('scripts/billing.ts', env, args);
    expect((await second.exited).code).toBe(0);
    // Dec 2025 to Dec 2026: twelve ended periods each.
    expect(await countBulk()).toBe(60 * 12);
    const { rows } = await db.query<{ number: string }>(`SELECT number FROM invoices WHERE number LIKE 'INV-2026-%' ORDER BY number`);
    expect(rows.map((r) => r.number)).toEqual(rows.map((_, i) => `INV-2026-${String(i + 1).padStart(6, '0')}`));
  }, 120_000);
});
