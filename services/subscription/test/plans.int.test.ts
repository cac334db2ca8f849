import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { appOf } from '../../../test/support/apps';
import { listenOnFreePort, type Listening } from '../../../test/support/listen';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';
import { createTestDeps } from '../../../test/support/service-deps';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';

/**
 * Plans, tenants' plans, entitlements and their enforcement, through the real
 * gateway to the real subscription, client and auth services.
 */
describe('plans and tier enforcement through the gateway', () => {
  let platform: TestPlatform;
  let operator: string;
  const afterThis: Array<() => Promise<void>> = [];
  const newCode = () => `plan-${randomUUID().slice(0, 12)}`;
  const admin = () => {
    const agent = request(platform.gateway.url);
    return {
      get: (path: string) => agent.get(`/api/v1/subscription${path}`).set('Authorization', `Bearer ${operator}`),
      post: (path: string) => agent.post(`/api/v1/subscription${path}`).set('Authorization', `Bearer ${operator}`),
      patch: (path: string) => agent.patch(`/api/v1/subscription${path}`).set('Authorization', `Bearer ${operator}`),
    };
  };
  const terms = (limits: Record<string, number | null> = {}) => ({
    amountMinor: 1000,
    currency: 'EUR',
    interval: 'month',
    limits: { requestsPerMinute: null, apiCallsPerMonth: null, maxUsers: null, maxClients: null, storageBytes: null, ...limits },
  });
  async function planWith(limits: Record<string, number | null>, amountMinor = 1000): Promise<string> {
    const planCode = newCode();
    const res = await admin()
      .post('/plans')
      .send({ code: planCode, name: planCode, ...terms(limits), amountMinor });
    expect(res.status).toBe(201);
    return planCode;
  }
  const moveTo = (tenant: PlatformTenant, plan: string, extra: object = {}) =>
    admin()
      .post(`/tenants/${tenant.id}/plan`)
      .send({ plan, ...extra });

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['subscription', 'client'], env: { gateway: { REDIS_URL: '' } } });
    operator = await platform.newOperatorToken();
  });
  afterAll(async () => {
    for (const close of afterThis) await close();
    await platform.close();
  });

  it('when a tenant is created without a plan, then it is on the default plan, and its entitlements say so', async () => {
    const tenant = await platform.newTenant();
    const res = await platform.as(tenant).get('/api/v1/subscription/entitlements');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenantId: tenant.id, plan: { code: 'free', version: 1 }, usage: { users: 1, clients: 0 } });
    expect(new Date(res.body.period.end).getTime()).toBeGreaterThan(new Date(res.body.period.start).getTime());
  });

  it('when a plan is created with bad money or terms, then 400 listing the fields and nothing is written', async () => {
    for (const [field, value] of [
      ['currency', 'usd'],
      ['currency', 'ZZZ'],
      ['amountMinor', -1],
      ['amountMinor', 1.5],
      ['amountMinor', 'NaN'],
      ['interval', 'fortnight'],
    ] as const) {
      const planCode = newCode();
      const res = await admin()
        .post('/plans')
        .send({ code: planCode, name: 'x', ...terms(), [field]: value });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(`body.${field}`);
      expect((await admin().get(`/plans/${planCode}`)).status).toBe(404);
    }
  });

  it('when a plan is created twice or an unknown one is read, then 409 PLAN_EXISTS and 404 PLAN_NOT_FOUND', async () => {
    const planCode = await planWith({});
    const again = await admin()
      .post('/plans')
      .send({ code: planCode, name: 'again', ...terms() });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('PLAN_EXISTS');
    expect((await admin().get('/plans/no-such-plan')).body.error.code).toBe('PLAN_NOT_FOUND');
  });

  it("when a plan's price changes, then it gets a new version and its subscribers keep theirs until the next period", async () => {
    const planCode = await planWith({ maxClients: 5 });
    const tenant = await platform.newTenant();
    expect((await moveTo(tenant, planCode)).status).toBe(200);
    const changed = await admin()
      .patch(`/plans/${planCode}`)
      .send({ amountMinor: 2000, limits: { maxClients: 50 } });
    expect(changed.status).toBe(200);
    expect(changed.body.latest).toMatchObject({ version: 2, amountMinor: 2000, limits: { maxClients: 50 } });
    const renamed = await admin().patch(`/plans/${planCode}`).send({ name: 'Renamed' });
    expect(renamed.body).toMatchObject({ name: 'Renamed', latest: { version: 2 } });
    const entitlements = await platform.as(tenant).get('/api/v1/subscription/entitlements');
    expect(entitlements.body.plan).toMatchObject({ code: planCode, version: 1, amountMinor: 1000 });
    expect(entitlements.body.limits.maxClients).toBe(5);
    // An explicit migrate moves it now.
    expect((await moveTo(tenant, planCode)).body.kind).toBe('migrate');
    expect((await platform.as(tenant).get('/api/v1/subscription/entitlements')).body.plan.version).toBe(2);
  });

  it('when a tenant is created with an unknown plan code, then 400, not a silent default', async () => {
    const res = await request(platform.gateway.url)
      .post('/api/v1/admin/tenants')
      .set('Authorization', `Bearer ${operator}`)
      .send({ name: 'Acme', slug: `acme-${randomUUID().slice(0, 8)}`, plan: 'no-such-plan' });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('body.plan');
  });

  it('when a downgrade is below what the tenant holds, then 409 listing what is over, unless forced; a downgrade waits for the period end', async () => {
    const big = await planWith({ maxClients: 100 }, 5000);
    const small = await planWith({ maxClients: 1 }, 100);
    const tenant = await platform.newTenant();
    expect((await moveTo(tenant, big)).body).toMatchObject({ kind: 'upgrade' });
    for (const name of ['A', 'B']) expect((await platform.as(tenant).post('/api/v1/client/clients').send({ name })).status).toBe(201);
    const refused = await moveTo(tenant, small);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'PLAN_USAGE_OVER_LIMIT', details: { over: [{ limit: 'maxClients', max: 1, current: 2 }] } });
    const forced = await moveTo(tenant, small, { force: true });
    expect(forced.status).toBe(200);
    expect(forced.body.kind).toBe('downgrade');
    const entitlements = await platform.as(tenant).get('/api/v1/subscription/entitlements');
    expect(entitlements.body.plan.code).toBe(big);
    expect(entitlements.body.pendingChange).toMatchObject({ plan: small, effectiveAt: entitlements.body.period.end });
  });

  it('when an upgrade happens mid-period, then it applies now with the proration recorded for billing', async () => {
    const cheap = await planWith({}, 1000);
    const dear = await planWith({}, 3000);
    const tenant = await platform.newTenant();
    expect((await moveTo(tenant, cheap)).status).toBe(200);
    const upgrade = await moveTo(tenant, dear);
    expect(upgrade.status).toBe(200);
    expect(upgrade.body.kind).toBe('upgrade');
    // Nearly the whole period is left: nearly the whole difference is owed.
    expect(upgrade.body.prorationMinor).toBeGreaterThan(1990);
    expect(upgrade.body.prorationMinor).toBeLessThanOrEqual(2000);
    const { rows } = await platform.deps.admin!.db.query('SELECT kind, proration_minor FROM tenant_plan_changes WHERE tenant_id = $1 ORDER BY id', [tenant.id]);
    expect(rows.map((r) => r.kind)).toEqual(['upgrade', 'upgrade']);
  });

  it("when a deleted tenant's plan is changed, then 409; an unknown tenant 404", async () => {
    const tenant = await platform.newTenant();
    await platform.deps.admin!.db.query(`UPDATE tenants SET status = 'deleted' WHERE id = $1`, [tenant.id]);
    expect((await moveTo(tenant, 'free')).status).toBe(409);
    expect((await admin().post(`/tenants/${randomUUID()}/plan`).send({ plan: 'free' })).status).toBe(404);
  });

  it('when 20 clients are created at once at max − 1, then exactly one 201 and 19 × 403 PLAN_LIMIT_REACHED', async () => {
    const planCode = await planWith({ maxClients: 5 });
    const tenant = await platform.newTenant();
    expect((await moveTo(tenant, planCode)).status).toBe(200);
    await platform.deps.client!.entitlements.refresh();
    for (let i = 0; i < 4; i += 1)
      expect(
        (
          await platform
            .as(tenant)
            .post('/api/v1/client/clients')
            .send({ name: `C${i}` })
        ).status,
      ).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        platform
          .as(tenant)
          .post('/api/v1/client/clients')
          .send({ name: `Race ${i}` }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(403)]);
    const refused = results.find((r) => r.status === 403)!;
    expect(refused.body.error).toMatchObject({ code: 'PLAN_LIMIT_REACHED', details: { limit: 'clients', max: 5, current: 5 } });
    // Another tenant on the same plan is not affected by this one's count.
    const other = await platform.newTenant();
    expect((await moveTo(other, planCode)).status).toBe(200);
    expect((await platform.as(other).post('/api/v1/client/clients').send({ name: 'Mine' })).status).toBe(201);
  });

  it("when content would take a tenant past its plan's storage, then 403 PLAN_LIMIT_REACHED and nothing is saved", async () => {
    const planCode = await planWith({ storageBytes: 200 });
    const tenant = await platform.newTenant();
    expect((await moveTo(tenant, planCode)).status).toBe(200);
    await platform.deps.client!.entitlements.refresh();
    const save = (slug: string, body: string) =>
      platform.as(tenant).post('/api/v1/client/content').send({ type: 'page', slug, title: slug, bodyFormat: 'markdown', body });
    expect((await save('small', 'x'.repeat(100))).status).toBe(201);
    const refused = await save('large', 'x'.repeat(150));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'PLAN_LIMIT_REACHED', details: { limit: 'storageBytes', max: 200 } });
    expect((await platform.as(tenant).get('/api/v1/subscription/entitlements')).body.usage.storageBytes).toBe(102);
  });

  it('when a tenant at its max users signs up one more, then 403 PLAN_LIMIT_REACHED', async () => {
    const planCode = await planWith({ maxUsers: 1 });
    const tenant = await platform.newTenant();
    expect((await moveTo(tenant, planCode)).status).toBe(200);
    // Services see a plan change at their next poll of the entitlements epoch (each second); this one now.
    await platform.deps.auth!.entitlements.refresh();
    const res = await request(platform.gateway.url)
      .post('/api/v1/auth/register')
      .set('X-API-Key', tenant.key)
      .send({ email: `second-${randomUUID()}@tenant.example`, password: 'correct horse battery' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('PLAN_LIMIT_REACHED');
  });

  it('when a tenant has used its monthly calls, then 429 QUOTA_EXCEEDED naming the limit and reset; entitlements still answer', async () => {
    const planCode = await planWith({ apiCallsPerMonth: 5 });
    const tenant = await platform.newTenant();
    expect((await moveTo(tenant, planCode)).status).toBe(200);
    await platform.deps.gateway!.entitlements.refresh();
    // The owner's sign-up through the gateway was the period's first call.
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 6; i += 1) {
      last = await platform.as(tenant).get('/api/v1/client/clients');
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(last!.body.error).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { limit: 'apiCallsPerMonth', max: 5 } });
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    const entitlements = await platform.as(tenant).get('/api/v1/subscription/entitlements');
    expect(entitlements.status).toBe(200);
    await platform.deps.gateway!.entitlements.refresh();
  });

  it('when a tenant is suspended, then its API answers 403 but its entitlements still answer', async () => {
    const tenant = await platform.newTenant();
    // Read while active first: the suspension must show although the subscription service has cached the plan.
    expect((await platform.as(tenant).get('/api/v1/subscription/entitlements')).body.status).toBe('active');
    await platform.deps.admin!.db.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [tenant.id]);
    const gatewayDeps = createTestDeps('gateway', platform.bed.db.url, {
      SUBSCRIPTION_URL: platform.services.subscription!.url,
      CLIENT_URL: platform.services.client!.url,
    });
    const gateway = appOf('gateway')(gatewayDeps as ServiceDeps<'gateway'>);
    afterThis.push(() => closeServiceDeps(gatewayDeps));
    expect((await request(gateway).get('/api/v1/client/clients').set('X-API-Key', tenant.key).set('Authorization', `Bearer ${tenant.token}`)).status).toBe(403);
    const res = await request(gateway).get('/api/v1/subscription/entitlements').set('X-API-Key', tenant.key);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { status: 'suspended' } });
  });

  it('when flags are created, changed and evaluated, then each change is audited and a tenant evaluates only itself, with an ETag', async () => {
    const key = `beta.${process.pid}`;
    const tenant = await platform.newTenant();
    const other = await platform.newTenant();
    const created = await admin()
      .post('/flags')
      .send({ key, description: 'Beta', tenantOverrides: { [tenant.id]: true } });
    expect(created.status).toBe(201);
    expect((await admin().post('/flags').send({ key })).body.error.code).toBe('FLAG_EXISTS');
    const badWeights = await admin()
      .post('/flags')
      .send({
        key: `${key}-w`,
        variants: [
          { name: 'a', weight: 60 },
          { name: 'b', weight: 30 },
        ],
      });
    expect(badWeights.status).toBe(400);
    expect((await admin().get(`/flags/${key}-w`)).status).toBe(404);
    await platform.deps.subscription!.entitlements.refresh();

    const evaluate = (who: PlatformTenant, query = '') =>
      request(platform.gateway.url).get(`/api/v1/subscription/flags/evaluate${query}`).set('X-API-Key', who.key);
    const mine = await evaluate(tenant, `?tenantId=${other.id}`);
    expect(mine.status).toBe(200);
    expect(mine.body.flags[key]).toEqual({ enabled: true });
    expect((await evaluate(other)).body.flags[key]).toEqual({ enabled: false });
    expect(mine.headers.etag).toBeTruthy();
    expect((await evaluate(tenant).set('If-None-Match', String(mine.headers.etag))).status).toBe(304);

    const killed = await admin().patch(`/flags/${key}`).send({ enabled: false });
    expect(killed.body).toMatchObject({ enabled: false, version: 2 });
    await platform.deps.subscription!.entitlements.refresh();
    const after = await evaluate(tenant).set('If-None-Match', String(mine.headers.etag));
    expect(after.status).toBe(200);
    expect(after.body.flags[key]).toEqual({ enabled: false });

    const { rows } = await platform.deps.admin!.db.query(`SELECT action, details FROM audit_log WHERE target_type = 'flag' AND target_id = $1 ORDER BY id`, [
      key,
    ]);
    expect(rows.map((r) => r.action)).toEqual(['flag.created', 'flag.changed']);
    expect(rows[1].details).toMatchObject({ before: { enabled: true }, after: { enabled: false } });
    expect((await admin().patch('/flags/no-such-flag').send({ enabled: true })).body.error.code).toBe('FLAG_NOT_FOUND');
    expect((await request(platform.gateway.url).delete(`/api/v1/subscription/flags/${key}`).set('Authorization', `Bearer ${operator}`)).status).toBe(204);
  });

  it("when one tenant asks for another's entitlements or plan change, then it cannot: its key decides, and admin routes refuse it", async () => {
    const a = await platform.newTenant();
    const b = await platform.newTenant();
    const mine = await platform.as(a).get(`/api/v1/subscription/entitlements?tenantId=${b.id}`);
    expect(mine.body.tenantId).toBe(a.id);
    expect((await platform.as(a).get(`/api/v1/subscription/tenants/${b.id}/entitlements`)).status).toBe(403);
    expect((await platform.as(a).post(`/api/v1/subscription/tenants/${b.id}/plan`).send({ plan: 'free' })).status).toBe(403);
  });
});

describe('the per-minute limit from the plan, on two gateways sharing Redis', () => {
  let platform: TestPlatform;
  let second: Listening;
  let secondDeps: ServiceDeps;
  let operator: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['subscription', 'client'], env: { gateway: { REDIS_URL: process.env.REDIS_URL ?? '' } } });
    operator = await platform.newOperatorToken();
    secondDeps = createTestDeps('gateway', platform.bed.db.url, {
      REDIS_URL: process.env.REDIS_URL ?? '',
      AUTH_URL: platform.services.auth!.url,
      SUBSCRIPTION_URL: platform.services.subscription!.url,
      CLIENT_URL: platform.services.client!.url,
      ADMIN_URL: platform.services.admin!.url,
    });
    second = await listenOnFreePort(appOf('gateway')(secondDeps as ServiceDeps<'gateway'>));
  });
  afterAll(async () => {
    await second.close();
    await closeServiceDeps(secondDeps);
    await platform.close();
  });

  // CI runs Redis (REQUIRE_REDIS=1), so there this test cannot silently vanish.
  if (!process.env.REDIS_URL && process.env.REQUIRE_REDIS === '1') throw new Error('REQUIRE_REDIS=1 but REDIS_URL is not set');
  const requireRedis = process.env.REDIS_URL ? it : it.skip;
  requireRedis('when a plan allows 60 requests a minute, then request 61 is 429 on either gateway; an upgrade lifts it within 5 s on both', async () => {
    const admin = (path: string, body: object) =>
      request(platform.gateway.url).post(`/api/v1/subscription${path}`).set('Authorization', `Bearer ${operator}`).send(body);
    const limits = { apiCallsPerMonth: null, maxUsers: null, maxClients: null, storageBytes: null };
    const slow = `slow-${process.pid}`;
    const fast = `fast-${process.pid}`;
    expect(
      (await admin('/plans', { code: slow, name: 'Slow', amountMinor: 100, currency: 'EUR', interval: 'month', limits: { ...limits, requestsPerMinute: 60 } }))
        .status,
    ).toBe(201);
    expect(
      (
        await admin('/plans', {
          code: fast,
          name: 'Fast',
          amountMinor: 900,
          currency: 'EUR',
          interval: 'month',
          limits: { ...limits, requestsPerMinute: 6000 },
        })
      ).status,
    ).toBe(201);
    const tenant = await platform.newTenant();
    expect((await admin(`/tenants/${tenant.id}/plan`, { plan: slow })).status).toBe(200);
    // A key of its own, so the owner's sign-up does not count in this minute.
    const issued = await request(platform.gateway.url)
      .post(`/api/v1/admin/tenants/${tenant.id}/api-keys`)
      .set('Authorization', `Bearer ${operator}`)
      .send({ name: 'limits' });
    expect(issued.status).toBe(201);
    const key = issued.body.key as string;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const gateways = [platform.gateway.url, second.url];
    const statuses: number[] = [];
    for (let i = 0; i < 61; i += 1) {
      const res = await request(gateways[i % 2]!)
        .get('/api/v1/client/clients')
        .set('X-API-Key', key)
        .set('Authorization', `Bearer ${tenant.token}`);
      statuses.push(res.status);
      if (res.status === 429) expect(res.body.error.code).toBe('RATE_LIMITED');
    }
    expect(statuses).toEqual([...Array(60).fill(200), 429]);
    expect((await admin(`/tenants/${tenant.id}/plan`, { plan: fast })).body.kind).toBe('upgrade');
    const upgradedAt = Date.now();
    const lifted = await Promise.all(
      gateways.map(async (url) => {
        for (;;) {
          const res = await request(url).get('/api/v1/client/clients').set('X-API-Key', key).set('Authorization', `Bearer ${tenant.token}`);
          if (res.status === 200) return Date.now() - upgradedAt;
          if (Date.now() - upgradedAt > 10_000) return Number.POSITIVE_INFINITY;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }),
    );
    expect(Math.max(...lifted)).toBeLessThan(5_000);
  });
});
