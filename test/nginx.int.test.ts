import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import request from 'supertest';
import { closeServiceDeps, createLogger, createServiceDeps, loadConfig, type ServiceDeps } from '@codex/shared';
import { createApp as createGatewayApp } from '../gateway/src';
import { createApp as createCrmApp } from '../services/crm/src';
import { findNginx, startNginx, type RunningNginx } from '../scripts/lib/nginx';
import { createTestDatabase, type TestDatabase } from './support/database';
import { closedPortUrl, freePort, listenOnFreePort, type Listening } from './support/listen';
import { createTestDeps } from './support/service-deps';

// CI installs nginx and sets REQUIRE_NGINX=1, so there this suite cannot silently vanish.
const nginxAvailable = Boolean(findNginx());
if (!nginxAvailable && process.env.REQUIRE_NGINX === '1') throw new Error('REQUIRE_NGINX=1 but nginx is not installed');
const describeWithNginx = nginxAvailable ? describe : describe.skip;

/** The repository's nginx.conf, run by a real nginx with TLS (a self-signed certificate) in front of two gateway instances. */
describeWithNginx('nginx.conf in front of two gateways (real nginx, TLS)', () => {
  let db: TestDatabase;
  let certDir: string;
  let certificate: string;
  const deps: ServiceDeps[] = [];
  const gatewayLog: Array<Record<string, unknown>> = [];
  let crm: Listening;
  let consoleServer: Listening | undefined;
  let gateways: Listening[];
  let nginx: RunningNginx;
  let httpPort: number;
  let httpsPort: number;

  beforeAll(async () => {
    db = await createTestDatabase('master');
    certDir = await mkdtemp(path.join(tmpdir(), 'codex-cert-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        path.join(certDir, 'key.pem'),
        '-out',
        path.join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    certificate = readFileSync(path.join(certDir, 'cert.pem'), 'utf8');

    const crmDeps = createTestDeps('crm', db.url);
    crm = await listenOnFreePort(createCrmApp(crmDeps));
    deps.push(crmDeps);
    // Public routes only (no key or token needed): the crm stands in for auth, subscription is down.
    const env = { NODE_ENV: 'test', DATABASE_URL: db.url, CRM_URL: crm.url, AUTH_URL: crm.url, SUBSCRIPTION_URL: await closedPortUrl(), LOG_LEVEL: 'http' };
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) gatewayLog.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const first = createServiceDeps(loadConfig('gateway', env), createLogger('gateway', { level: 'http', stream: capture }));
    const second = createTestDeps('gateway', db.url, env);
    deps.push(first, second);
    gateways = [await listenOnFreePort(createGatewayApp(first)), await listenOnFreePort(createGatewayApp(second))];
    // The console's upstream: a server answering with what it was asked and by which Host and protocol.
    consoleServer = await listenOnFreePort((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, host: req.headers.host, proto: req.headers['x-forwarded-proto'] }));
    });
    httpPort = await freePort();
    httpsPort = await freePort();
    nginx = await startNginx({
      httpPort,
      gateways: gateways.map((g) => new URL(g.url).host),
      console: new URL(consoleServer.url).host,
      tls: { port: httpsPort, certificate: path.join(certDir, 'cert.pem'), key: path.join(certDir, 'key.pem') },
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([...gateways, crm, consoleServer].map((s) => s?.close().catch(() => undefined)));
    for (const d of deps) await closeServiceDeps(d);
    await db.drop();
    await rm(certDir, { recursive: true, force: true });
  });

  const https = (pathname: string) => request(nginx.url).get(pathname).ca(certificate);
  const handshake = (versions: { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion }) =>
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, ca: certificate, servername: 'localhost', ...versions }, () => {
        resolve(socket.getProtocol() ?? '');
        socket.end();
      });
      socket.once('error', reject);
    });

  it('when a client speaks TLS 1.3, then the handshake succeeds; TLS 1.1 is refused', async () => {
    await expect(handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).resolves.toBe('TLSv1.3');
    await expect(handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).resolves.toBe('TLSv1.2');
    await expect(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).rejects.toThrow();
  });

  it('when the console is asked for, then nginx passes /console/ to it with the browser’s Host, and / redirects there', async () => {
    const page = await https('/console/tenants?q=a');
    expect(page.status).toBe(200);
    // Host is what the console compares a change's Origin with (its CSRF check).
    expect(page.body).toEqual({ url: '/console/tenants?q=a', host: '127.0.0.1', proto: 'https' });
    const root = await https('/');
    expect([root.status, root.headers.location]).toEqual([302, expect.stringMatching(/\/console\/$/)]);
    expect((await https('/elsewhere')).status).toBe(404);
  });

  it('when a request comes over plain HTTP, then it is redirected to HTTPS (the ACME challenge path excepted)', async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/crm/health?x=1`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe(`https://127.0.0.1/api/v1/crm/health?x=1`);
    expect((await fetch(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/none`, { redirect: 'manual' })).status).toBe(404);
  });

  it('when a request comes over HTTPS, then it reaches the service behind a gateway, with HSTS', async () => {
    const res = await https('/api/v1/crm/health');
    expect(res.status).toBe(200);
    expect(res.body.service).toBe('crm');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=63072000/);
  });

  it('when the client sends no request id, then nginx makes one and every hop keeps it', async () => {
    const res = await https('/api/v1/crm/health');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    const kept = await https('/api/v1/crm/health').set('X-Request-Id', 'from-the-client');
    expect(kept.headers['x-request-id']).toBe('from-the-client');
    expect(readFileSync(nginx.accessLog, 'utf8')).toContain('"requestId":"from-the-client"');
  });

  it('when a client spoofs X-Forwarded-For, then the gateway logs the real client address, not the spoofed one', async () => {
    await https('/api/v1/crm/health').set('X-Forwarded-For', '203.0.113.9').set('X-Request-Id', 'spoof-check-1');
    await https('/api/v1/crm/health').set('X-Forwarded-For', '203.0.113.9').set('X-Request-Id', 'spoof-check-2');
    const lines = gatewayLog.filter((line) => line.requestId === 'spoof-check-1' || line.requestId === 'spoof-check-2');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.ip).toBe('127.0.0.1');
  });

  it('when /metrics or /health/services is asked from outside the operators’ networks, then nginx refuses it', async () => {
    const outside = await startNginx({
      httpPort: await freePort(),
      gateways: gateways.map((g) => new URL(g.url).host),
      tls: { port: await freePort(), certificate: path.join(certDir, 'cert.pem'), key: path.join(certDir, 'key.pem') },
      // Loopback stands for the internet here: only 10.0.0.0/8 are operators.
      operatorNetworks: ['10.0.0.0/8'],
    });
    try {
      for (const pathname of ['/metrics', '/health/services']) expect((await request(outside.url).get(pathname).ca(certificate)).status).toBe(403);
      expect((await request(outside.url).get('/api/v1/crm/health').ca(certificate)).status).toBe(200);
    } finally {
      await outside.stop();
    }
    expect((await https('/metrics')).status).toBe(200);
  });

  it('when a body is just over the services limit, then the service (not nginx) answers 413 in the standard body', async () => {
    const res = await request(nginx.url)
      .post('/api/v1/auth/admin/login')
      .ca(certificate)
      .send({ blob: 'x'.repeat(1_100_000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('when an upstream service is down, then the standard 503 body comes back through nginx', async () => {
    const res = await https('/api/v1/subscription/health');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('when one of the two gateway instances is killed, then every request is still served', async () => {
    await gateways[1]!.close();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) statuses.push((await https('/api/v1/crm/health')).status);
    expect(statuses).toEqual(Array(20).fill(200));
  });
});
