import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { ServiceDeps } from '@codex/shared';
import { maintainPartitions, retentionStart } from '../src/domain/metering';
import { serviceAuth } from '../../../test/support/service-auth';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';

// CI runs Redis and sets REDIS_URL and REQUIRE_REDIS=1, so the Redis buffer's suite cannot silently vanish there.
const redisUrl = process.env.REDIS_URL;
if (!redisUrl && process.env.REQUIRE_REDIS === '1') throw new Error('REQUIRE_REDIS=1 but REDIS_URL is not set');

const eventually = async <T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** The gateway's counter of usage events by outcome, from its /metrics. */
async function meterCount(platform: TestPlatform, outcome: string): Promise<number> {
  const text = (await request(platform.gateway.url).get('/metrics')).text;
  const match = new RegExp(`usage_events_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

/** Usage events the gateway has made (one per metered request), from its /metrics. */
async function recordedEvents(platform: TestPlatform): Promise<number> {
  const text = (await request(platform.gateway.url).get('/metrics')).text;
  return Number(/^usage_events_recorded_total(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** API calls billing has counted for a tenant, read directly from the aggregates. */
async function countedCalls(platform: TestPlatform, tenantId: string): Promise<number> {
  const { rows } = await platform.deps.billing!.db.query<{ calls: string }>(
    `SELECT coalesce(sum(total), 0) AS calls FROM usage_aggregates WHERE tenant_id = $1 AND metric = 'api_calls'`,
    [tenantId],
  );
  return Number(rows[0]!.calls);
}

/** Stops the billing service's listener (connections refused), and starts it again on the same port. */
async function billingOutage(platform: TestPlatform): Promise<() => Promise<void>> {
  const server = platform.services.billing!.server;
  const { port } = server.address() as AddressInfo;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

const buffers: Array<[string, Record<string, string>]> = [['a spool file', { REDIS_URL: '' }]];
if (redisUrl) buffers.push(['a Redis stream', { REDIS_URL: redisUrl, REDIS_PREFIX: `usage-${randomBytes(4).toString('hex')}` }]);

describe.each(buffers)('usage metering through the gateway, buffering in %s', (_buffer, gatewayEnv) => {
  let platform: TestPlatform;
  let tenant: PlatformTenant;

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['billing'], env: { gateway: { ...gatewayEnv } } });
    tenant = await platform.newTenant();
  });
  afterAll(() => platform?.close());

  it('when a tenant calls the API, then billing counts one api_calls per proxied request, with its route and bytes', async () => {
    const before = await eventually(
      () => countedCalls(platform, tenant.id),
      () => false,
      600,
    );
    for (let i = 0; i < 5; i++) expect((await platform.as(tenant).get('/api/v1/auth/me')).status).toBe(200);
    expect(
      await eventually(
        () => countedCalls(platform, tenant.id),
        (n) => n >= before + 5,
      ),
    ).toBe(before + 5);
    const { rows } = await platform.deps.billing!.db.query<{ properties: Record<string, unknown> }>(
      `SELECT properties FROM usage_events WHERE tenant_id = $1 AND properties->>'route' = '/api/v1/auth/me' LIMIT 1`,
      [tenant.id],
    );
    expect(rows[0]!.properties).toMatchObject({ service: 'auth', route: '/api/v1/auth/me', method: 'GET', status: 200 });
    expect(rows[0]!.properties.bytesOut).toBeGreaterThan(0);
  });

  it('when billing is down while requests are served, then they are answered, buffered, and counted once each after billing returns', async () => {
    const settled = await eventually(
      async () => [await countedCalls(platform, tenant.id), await meterCount(platform, 'sent')],
      () => false,
      1_000,
    );
    const before = settled[0]!;
    const recordedBefore = await recordedEvents(platform);
    const restart = await billingOutage(platform);
    try {
      const statuses = await Promise.all(
        Array.from({ length: 40 }, () =>
          platform
            .as(tenant)
            .get('/api/v1/auth/me')
            .then((r) => r.status),
        ),
      );
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(
        await eventually(
          () => meterCount(platform, 'buffered'),
          (n) => n >= 40,
        ),
      ).toBeGreaterThanOrEqual(40);
    } finally {
      await restart();
    }
    expect(
      await eventually(
        () => countedCalls(platform, tenant.id),
        (n) => n >= before + 40,
      ),
    ).toBe(before + 40);
    expect(await meterCount(platform, 'replayed')).toBeGreaterThanOrEqual(40);
    expect(await meterCount(platform, 'dropped')).toBe(0);
    // Nothing more arrives later: each event was counted once.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await countedCalls(platform, tenant.id)).toBe(before + 40);
    expect((await recordedEvents(platform)) - recordedBefore).toBe(40);
  });
});

describe('usage events and reads', () => {
  let platform: TestPlatform;
  let tenant: PlatformTenant;
  let other: PlatformTenant;
  let operator: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['billing'] });
    [tenant, other] = [await platform.newTenant(), await platform.newTenant()];
    operator = await platform.newOperatorToken();
    const created = await request(platform.gateway.url)
      .post('/api/v1/billing/metrics')
      .set('Authorization', `Bearer ${operator}`)
      .send({ code: 'emails_sent', name: 'Emails sent', eventCode: 'email.sent', aggregation: 'sum', field: 'recipients' });
    expect(created.status).toBe(201);
    const unique = await request(platform.gateway.url)
      .post('/api/v1/billing/metrics')
      .set('Authorization', `Bearer ${operator}`)
      .send({ code: 'active_senders', name: 'Active senders', eventCode: 'email.sent', aggregation: 'unique_count', field: 'sender' });
    expect(unique.status).toBe(201);
  });
  afterAll(() => platform?.close());

  const report = (who: PlatformTenant, events: unknown[]) =>
    request(platform.gateway.url).post('/api/v1/billing/events').set('X-API-Key', who.key).send({ events });
  const usage = (who: PlatformTenant, query: string) => request(platform.gateway.url).get(`/api/v1/billing/usage?${query}`).set('X-API-Key', who.key);
  const metricOf = (body: { metrics: Array<{ code: string; total: number }> }, code: string) => body.metrics.find((m) => m.code === code);

  it('when a tenant reports events and retries the same transaction ids, then each counts once, in sums and unique counts', async () => {
    const events = [
      { code: 'email.sent', transactionId: 'mail-1', properties: { recipients: 3, sender: 'ann' } },
      { code: 'email.sent', transactionId: 'mail-2', properties: { recipients: 2, sender: 'bob' } },
      { code: 'email.sent', transactionId: 'mail-3', properties: { recipients: 1, sender: 'ann' } },
    ];
    const first = await report(tenant, events);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ accepted: 3, duplicates: 0, rejected: 0 });
    // A retry after a lost answer, this time with a time of its own: still the same events.
    const again = await report(
      tenant,
      events.map((e) => ({ ...e, timestamp: new Date().toISOString() })),
    );
    expect(again.body).toEqual({ accepted: 0, duplicates: 3, rejected: 0 });

    const read = await usage(tenant, 'granularity=total');
    expect(read.status).toBe(200);
    expect(metricOf(read.body, 'emails_sent')?.total).toBe(6);
    expect(metricOf(read.body, 'active_senders')?.total).toBe(2);
  });

  it('when another tenant reads usage or reuses the same transaction ids, then it sees and affects only its own', async () => {
    expect(metricOf((await usage(other, 'granularity=total')).body, 'emails_sent')?.total).toBe(0);
    expect((await report(other, [{ code: 'email.sent', transactionId: 'mail-1', properties: { recipients: 10 } }])).body.accepted).toBe(1);
    expect(metricOf((await usage(other, 'granularity=total')).body, 'emails_sent')?.total).toBe(10);
    expect(metricOf((await usage(tenant, 'granularity=total')).body, 'emails_sent')?.total).toBe(6);
    // Admin-only reads are refused to a tenant's owner.
    expect((await platform.as(other).get(`/api/v1/billing/tenants/${tenant.id}/usage`)).status).toBe(403);
    expect((await platform.as(other).get('/api/v1/billing/tenant-usage?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z')).status).toBe(403);
  });

  it('when an admin reads usage, then it sees any tenant by hour or day and every tenant with totals', async () => {
    const hourly = await request(platform.gateway.url)
      .get(`/api/v1/billing/tenants/${tenant.id}/usage?granularity=hour&metric=emails_sent`)
      .set('Authorization', `Bearer ${operator}`);
    expect(hourly.status).toBe(200);
    expect(hourly.body.metrics).toHaveLength(1);
    expect(hourly.body.metrics[0].series.reduce((sum: number, b: { value: number }) => sum + b.value, 0)).toBe(6);

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const all = await request(platform.gateway.url)
      .get(`/api/v1/billing/tenant-usage?from=${from}&to=${to}&metric=emails_sent`)
      .set('Authorization', `Bearer ${operator}`);
    expect(all.status).toBe(200);
    const mine = all.body.items.find((i: { tenantId: string }) => i.tenantId === tenant.id);
    expect(mine.metrics.emails_sent).toBe(6);
    expect(all.body.totals.emails_sent).toBe(16);
  });

  it('when events or reads are malformed, then they are refused with 4xx and nothing is stored', async () => {
    const bad = [
      [{ code: 'Email', transactionId: 'x-1' }],
      [{ code: 'email.sent', transactionId: 'has space' }],
      [{ code: 'email.sent', transactionId: 'x-2', properties: { recipients: { nested: 1 } } }],
      [{ code: 'email.sent', transactionId: 'x-3', timestamp: 'yesterday' }],
      [],
    ];
    for (const events of bad) expect((await report(tenant, events)).status).toBe(400);
    const future = await report(tenant, [{ code: 'email.sent', transactionId: 'x-4', timestamp: '2999-01-01T00:00:00Z', properties: { recipients: 1 } }]);
    expect(future.status).toBe(422);
    const ancient = await report(tenant, [{ code: 'email.sent', transactionId: 'x-5', timestamp: '1999-01-01T00:00:00Z', properties: { recipients: 1 } }]);
    expect(ancient.status).toBe(422);
    const twice = await report(tenant, [
      { code: 'email.sent', transactionId: 'x-6', properties: { recipients: 1 } },
      { code: 'email.sent', transactionId: 'x-6', properties: { recipients: 1 } },
    ]);
    expect(twice.status).toBe(422);
    expect(metricOf((await usage(tenant, 'granularity=total')).body, 'emails_sent')?.total).toBe(6);

    expect((await usage(tenant, 'granularity=minute')).status).toBe(400);
    expect((await usage(tenant, 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status).toBe(400);
    expect((await usage(tenant, 'from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&granularity=hour')).status).toBe(400);
    const duplicate = await request(platform.gateway.url)
      .post('/api/v1/billing/metrics')
      .set('Authorization', `Bearer ${operator}`)
      .send({ code: 'emails_sent', name: 'Again', eventCode: 'email.sent', aggregation: 'count' });
    expect(duplicate.status).toBe(409);
    const countWithField = await request(platform.gateway.url)
      .post('/api/v1/billing/metrics')
      .set('Authorization', `Bearer ${operator}`)
      .send({ code: 'emails_counted', name: 'Emails', eventCode: 'email.sent', aggregation: 'count', field: 'recipients' });
    expect(countWithField.status).toBe(400);
  });

  it('when a service other than the gateway reports usage, or reports an event twice, then it is refused, or counted once', async () => {
    const billing = platform.services.billing!.url;
    const event = { id: randomUUID(), tenantId: tenant.id, occurredAt: new Date().toISOString(), code: 'api_request', properties: { status: 200 } };
    const fromCrm = await request(billing)
      .post('/internal/usage/events')
      .set('Authorization', serviceAuth(platform.deps.billing!, 'billing', undefined, 'crm'))
      .send({ events: [event] });
    expect(fromCrm.status).toBe(403);
    const first = await request(billing)
      .post('/internal/usage/events')
      .set('Authorization', serviceAuth(platform.deps.billing!, 'billing'))
      .send({ events: [event, { ...event, id: randomUUID(), occurredAt: '1990-01-01T00:00:00Z' }] });
    expect(first.body).toEqual({ accepted: 1, duplicates: 0, rejected: 1 });
    const replay = await request(billing)
      .post('/internal/usage/events')
      .set('Authorization', serviceAuth(platform.deps.billing!, 'billing'))
      .send({ events: [event] });
    expect(replay.body).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
  });

  it('when the partitions job runs, then months ahead exist and months past retention are dropped', async () => {
    const db = (platform.deps.billing as ServiceDeps<'billing'>).db;
    const later = new Date(Date.UTC(new Date().getUTCFullYear() + 3, 0, 15));
    // Counts the events received before the job ran: the gateway may report this test's own calls
    // meanwhile, which makes this month's partition again.
    const { rows: marks } = await db.query<{ at: Date }>('SELECT clock_timestamp() AS at');
    const pastRetention = async () => {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1 AND occurred_at < $2 AND received_at < $3`, [
        tenant.id,
        retentionStart(13, later),
        marks[0]!.at,
      ]);
      return Number(rows[0]!.n);
    };
    expect(await pastRetention()).toBeGreaterThan(0);
    const result = await maintainPartitions(db, 13, later);
    expect(result.created).toContain(`${later.getUTCFullYear()}-04`);
    // Everything created at install (this month and around it) is now more than 13 months old.
    expect(result.dropped.length).toBeGreaterThan(0);
    expect(await pastRetention()).toBe(0);
    // Aggregates are kept: usage reads still answer.
    expect(metricOf((await usage(tenant, 'granularity=total')).body, 'emails_sent')?.total).toBe(6);
  });
});
