import net from 'node:net';
import request from 'supertest';
import { createLogger, type ServiceDeps, type ServiceName } from '@codex/shared';
import { AlertWebhook, isPublicAddress } from '../src/domain/alerts';
import { probeDatabaseServer } from '../src/domain/database-servers';
import { ServiceRegistry } from '../src/domain/service-registry';
import { freePort, listenOnFreePort, type Listening } from '../../../test/support/listen';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

/**
 * The service registry (#14): health polls keep `services` current, status changes open and close
 * incidents, and each change is a warning, an audit entry and an alert webhook call. The platform's own
 * services are polled for real; "crm" is a small HTTP server the test turns up, degraded and down.
 */
describe('service registry and alerting', () => {
  let platform: TestPlatform;
  let operator: string;
  let crm: Listening;
  let crmAnswer: { status: number; degraded: string[] };
  let receiver: Listening;
  let alerts: Array<Record<string, unknown>>;
  let webhook: AlertWebhook;
  let registry: ServiceRegistry;
  let serviceUrls: Record<ServiceName, string>;
  let breakerChanged: (upstream: ServiceName, to: 'open' | 'half-open' | 'closed') => void;
  let watched: Array<{ name: string; url: string }>;

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [] });
    operator = await platform.newOperatorToken();
    crmAnswer = { status: 200, degraded: [] };
    crm = await listenOnFreePort((_req, res) => {
      res.writeHead(crmAnswer.status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', degraded: crmAnswer.degraded }));
    });
    alerts = [];
    receiver = await listenOnFreePort((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        alerts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    const admin = platform.deps.admin as ServiceDeps<'admin'>;
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    serviceUrls = {
      gateway: platform.gateway.url,
      auth: platform.services.auth!.url,
      admin: platform.services.admin!.url,
      crm: crm.url,
      billing: nowhere,
      subscription: nowhere,
      client: nowhere,
    } as Record<ServiceName, string>;
    webhook = new AlertWebhook({ url: receiver.url, allowPrivate: true, logger: createLogger('admin', { silent: true }), firstRetryMs: 20 });
    watched = [{ name: 'default', url: admin.config.databaseUrl }];
    registry = new ServiceRegistry({
      db: admin.db,
      serviceUrls,
      onBreakerChange: (listener) => (breakerChanged = listener),
      pollMs: 0,
      alerts: webhook,
      logger: admin.logger,
      timeoutMs: 500,
      audit: admin.audit,
      databaseServers: async () => watched,
      probeDatabase: probeDatabaseServer,
    });
  });
  afterAll(async () => {
    registry.stop();
    await Promise.all([crm.close(), receiver.close()]);
    await platform.close();
  });

  const services = async () => {
    const res = await request(platform.gateway.url).get('/api/v1/admin/services').set('Authorization', `Bearer ${operator}`);
    expect(res.status).toBe(200);
    return Object.fromEntries(res.body.items.map((item: { name: string }) => [item.name, item]));
  };
  const history = (name: string, query = '') =>
    request(platform.gateway.url).get(`/api/v1/admin/services/${name}/history${query}`).set('Authorization', `Bearer ${operator}`);

  it('when the registry polls, then every service is listed with its status; those down from the start open an incident and alert', async () => {
    await registry.poll();
    await webhook.settled();
    const listed = await services();
    expect(listed.auth).toMatchObject({ status: 'up', latencyMs: expect.any(Number), details: { httpStatus: 200 }, uptime24hPercent: 100 });
    expect(listed.gateway).toMatchObject({ status: 'up' });
    expect(listed.crm).toMatchObject({ status: 'up' });
    expect(listed.billing).toMatchObject({ status: 'down', details: { error: 'unreachable' } });
    expect(alerts.map((alert) => `${alert.event} ${alert.service}`).sort()).toEqual([
      'service.down billing',
      'service.down client',
      'service.down subscription',
    ]);
  });

  it('when a service degrades, goes down and comes back, then each change is one incident, one audit entry and one alert, and uptime counts the down time', async () => {
    alerts.length = 0;
    crmAnswer = { status: 200, degraded: ['redis'] };
    await registry.poll();
    await registry.poll(); // no change: nothing new
    crmAnswer = { status: 503, degraded: [] };
    await registry.poll();
    await new Promise((resolve) => setTimeout(resolve, 300));
    crmAnswer = { status: 200, degraded: [] };
    await registry.poll();
    await webhook.settled();

    expect(alerts.map((alert) => alert.event)).toEqual(['service.degraded', 'service.down', 'service.recovered']);
    expect(alerts[0]).toMatchObject({ service: 'crm', details: { before: 'up', degraded: ['redis'] }, sentAt: expect.any(String) });
    const { rows } = await platform.deps.admin!.db.query(`SELECT action FROM audit_log WHERE target_type = 'service' AND target_id = 'crm' ORDER BY seq`);
    expect(rows.map((row) => row.action)).toEqual(['service.degraded', 'service.down', 'service.recovered']);

    // Over the last minute, so that a few hundred milliseconds of downtime shows in the percentage.
    const res = await history('crm', `?from=${new Date(Date.now() - 60_000).toISOString()}`);
    expect(res.status).toBe(200);
    expect(res.body.incidents.map((incident: { status: string }) => incident.status)).toEqual(['degraded', 'down']);
    expect(res.body.incidents.every((incident: { endedAt: string | null }) => incident.endedAt !== null)).toBe(true);
    const down = res.body.incidents[1];
    expect(down.durationMs).toBeGreaterThanOrEqual(250);
    expect(res.body.uptimePercent).toBeLessThan(100);
    expect(res.body.uptimePercent).toBeGreaterThan(95);
    expect((await services()).crm).toMatchObject({ status: 'up' });

    // A range before any of it: all up, no incidents.
    const earlier = await history('crm', `?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z`);
    expect(earlier.body).toMatchObject({ uptimePercent: 100, incidents: [] });
  });

  it('when two instances poll at once, then each change is recorded once', async () => {
    alerts.length = 0;
    crmAnswer = { status: 503, degraded: [] };
    const admin = platform.deps.admin as ServiceDeps<'admin'>;
    const twin = new ServiceRegistry({
      db: admin.db,
      serviceUrls,
      onBreakerChange: () => undefined,
      pollMs: 0,
      alerts: webhook,
      logger: admin.logger,
      timeoutMs: 500,
      audit: admin.audit,
    });
    await Promise.all([registry.poll(), twin.poll()]);
    await registry.poll();
    await webhook.settled();
    const { rows } = await admin.db.query(`SELECT count(*)::int AS n FROM service_incidents WHERE service = 'crm' AND status = 'down'`);
    expect(rows[0].n).toBe(2);
    expect(alerts.filter((alert) => alert.event === 'service.down')).toHaveLength(1);
    crmAnswer = { status: 200, degraded: [] };
    await registry.poll();
    await webhook.settled();
  });

  it('when a breaker of the admin service opens, then that is a warning, an audit entry and an alert at once', async () => {
    alerts.length = 0;
    breakerChanged('billing', 'half-open');
    breakerChanged('billing', 'open');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await webhook.settled();
    expect(alerts).toEqual([expect.objectContaining({ event: 'breaker.opened', service: 'billing' })]);
    const { rows } = await platform.deps.admin!.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'breaker.opened' AND target_id = 'billing'`);
    expect(rows[0].n).toBe(1);
  });

  it('when the history is asked badly or of an unknown service, or by a role without system:read, then 400, 404 or 403', async () => {
    expect((await history('crm', '?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status).toBe(400);
    expect((await history('crm', '?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status).toBe(400);
    expect((await history('crm', '?from=yesterday')).status).toBe(400);
    expect((await history('Not_A_Name')).status).toBe(400);
    const unknown = await history('nosuch');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('SERVICE_NOT_FOUND');
    expect((await request(platform.gateway.url).get('/api/v1/admin/services')).status).toBe(401);
  });

  it('when the webhook fails for a while, then it is retried; when its address is private and not allowed, then it is never called', async () => {
    let failuresLeft = 2;
    const received: string[] = [];
    const flaky = await listenOnFreePort((req, res) => {
      req.resume();
      req.on('end', () => {
        if (failuresLeft-- > 0) return res.writeHead(503).end();
        received.push('ok');
        res.writeHead(200).end();
      });
    });
    try {
      const logger = createLogger('admin', { silent: true });
      expect(await new AlertWebhook({ url: flaky.url, allowPrivate: true, logger, firstRetryMs: 10 }).deliver({ event: 'test' })).toBe(true);
      expect(received).toEqual(['ok']);

      const port = new URL(flaky.url).port;
      for (const url of [flaky.url, `http://localhost:${port}`, `http://[::1]:${port}`, `http://[::ffff:127.0.0.1]:${port}`]) {
        received.length = 0;
        failuresLeft = 0;
        expect({ url, delivered: await new AlertWebhook({ url, allowPrivate: false, logger, firstRetryMs: 10 }).deliver({ event: 'test' }) }).toEqual({
          url,
          delivered: false,
        });
        expect(received).toEqual([]);
      }
    } finally {
      await flaky.close();
    }
    for (const address of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:10.0.0.1',
    ]) {
      expect({ address, public: isPublicAddress(address) }).toEqual({ address, public: false });
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])
      expect({ address, public: isPublicAddress(address) }).toEqual({ address, public: true });
  });

  it('when a database server stops answering and comes back, then each is one warning, one audit entry and one alert', async () => {
    // A real path to the real server that the test can cut: a TCP relay in front of PostgreSQL.
    const target = new URL(platform.deps.admin!.config.databaseUrl);
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as net.AddressInfo).port;
    const viaRelay = new URL(target);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(port);
    watched = [...watched, { name: 'second', url: viaRelay.toString() }];
    alerts.length = 0;
    await registry.poll(); // first seen up: not news
    await new Promise<void>((resolve) => relay.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await registry.poll();
    await registry.poll(); // still down: nothing new
    const again = net.createServer(relay.listeners('connection')[0] as (socket: net.Socket) => void);
    await new Promise<void>((resolve) => again.listen(port, '127.0.0.1', resolve));
    await registry.poll();
    await webhook.settled();
    await new Promise<void>((resolve) => again.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    watched = watched.filter((server) => server.name !== 'second');

    const database = alerts.filter((alert) => String(alert.event).startsWith('database.'));
    expect(database.map((alert) => `${alert.event} ${alert.service}`)).toEqual(['database.unreachable postgres:second', 'database.reachable postgres:second']);
    expect(database[0]).toMatchObject({ details: { server: 'second', error: expect.stringMatching(/^cannot connect/) } });
    const { rows } = await platform.deps.admin!.db.query(
      `SELECT action FROM audit_log WHERE target_type = 'database_server' AND target_id = 'second' ORDER BY seq`,
    );
    expect(rows.map((row) => row.action)).toEqual(['database.unreachable', 'database.reachable']);
  });
});
