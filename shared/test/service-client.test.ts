import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, createServiceTokenSigner, createServiceTokenVerifier, runWithContext, ServiceClient } from '../src';
import { z } from 'zod';

const SECRET = 'a-test-service-secret-that-is-long-enough';

/** A real upstream on a loopback port whose behaviour each test sets. */
class StubServer {
  calls: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end('{}');
  private readonly server = http.createServer((req, res) => {
    this.calls.push({ url: req.url ?? '', headers: req.headers });
    this.respond(req, res);
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

describe('ServiceClient', () => {
  const stub = new StubServer();
  let baseUrl: string;
  const clients: ServiceClient[] = [];

  function client(options: { timeoutMs?: number; resetTimeoutMs?: number; url?: string; onStateChange?: (upstream: string, to: string) => void } = {}) {
    const created = new ServiceClient({
      onStateChange: options.onStateChange,
      caller: 'crm',
      target: 'client',
      baseUrl: options.url ?? baseUrl,
      signer: createServiceTokenSigner('crm', SECRET),
      timeoutMs: options.timeoutMs ?? 2_000,
      logger: createLogger('test', { silent: true }),
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: options.resetTimeoutMs ?? 300 },
    });
    clients.push(created);
    return created;
  }

  beforeAll(async () => {
    baseUrl = await stub.start();
  });
  afterAll(async () => {
    for (const c of clients) c.shutdown();
    await stub.stop();
  });
  beforeEach(() => {
    stub.calls = [];
    stub.respond = (_req, res) => json(res, 200, { ok: true });
  });

  it('when the upstream answers, then the call carries a service JWT for it and the request id', async () => {
    const response = await runWithContext({ requestId: 'req-42' }, () =>
      client().request({ path: '/internal/things', identity: { tenantId: 't1', roles: ['member'] }, answer: z.object({ ok: z.boolean() }) }),
    );
    expect(response).toEqual({ status: 200, data: { ok: true } });
    const headers = stub.calls[0]!.headers;
    expect(headers['x-request-id']).toBe('req-42');
    const identity = createServiceTokenVerifier('client', SECRET)(headers.authorization!.replace('Bearer ', ''));
    expect(identity).toMatchObject({ caller: 'crm', tenantId: 't1', roles: ['member'] });
  });

  it.each([
    ['a redirect', (res: http.ServerResponse) => res.writeHead(302, { Location: 'http://127.0.0.1:9/elsewhere' }).end()],
    ['broken JSON', (res: http.ServerResponse) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"id":')],
    ['HTML', (res: http.ServerResponse) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>{"ok":true}</html>')],
    ['JSON of another shape', (res: http.ServerResponse) => json(res, 200, { ok: 'yes' })],
  ])('when the upstream answers %s where a contract is expected, then 502 UPSTREAM_ERROR and no redirect is followed', async (_case, respond) => {
    stub.respond = (_req, res) => respond(res);
    await expect(client().request({ path: '/internal/things', answer: z.object({ ok: z.boolean() }) })).rejects.toMatchObject({
      status: 502,
      code: 'UPSTREAM_ERROR',
    });
    expect(stub.calls.map((c) => c.url)).toEqual(['/internal/things']);
  });

  it('when the upstream answers 4xx, then its code passes through and the breaker stays closed', async () => {
    stub.respond = (_req, res) => json(res, 404, { error: { code: 'CLIENT_NOT_FOUND', message: 'No such client', requestId: 'x' } });
    const c = client();
    for (let i = 0; i < 5; i += 1) {
      await expect(c.request({ path: '/internal/clients/1' })).rejects.toMatchObject({ status: 404, code: 'CLIENT_NOT_FOUND' });
    }
    expect(c.state).toBe('closed');
  });

  it('when the upstream keeps failing, then the breaker opens and calls fail fast with 503 without reaching it', async () => {
    stub.respond = (_req, res) => json(res, 500, { error: { code: 'INTERNAL' } });
    const c = client();
    for (let i = 0; i < 3; i += 1) {
      await expect(c.request({ path: '/x' })).rejects.toMatchObject({ status: 502, code: 'UPSTREAM_ERROR' });
    }
    expect(c.state).toBe('open');
    const callsBefore = stub.calls.length;
    await expect(c.request({ path: '/x' })).rejects.toMatchObject({ status: 503, code: 'UPSTREAM_UNAVAILABLE' });
    expect(stub.calls.length).toBe(callsBefore);
  });

  it('when the reset timeout passes and the probe succeeds, then the breaker closes again', async () => {
    stub.respond = (_req, res) => json(res, 503, {});
    const transitions: string[] = [];
    const c = client({ resetTimeoutMs: 200, onStateChange: (upstream, to) => transitions.push(`${upstream}:${to}`) });
    for (let i = 0; i < 3; i += 1) await c.request({ path: '/x' }).catch(() => undefined);
    expect(c.state).toBe('open');
    await delay(250);
    expect(c.state).toBe('half-open');
    stub.respond = (_req, res) => json(res, 200, { ok: true });
    await expect(c.request({ path: '/x' })).resolves.toMatchObject({ status: 200 });
    expect(c.state).toBe('closed');
    expect(transitions).toEqual(['client:open', 'client:half-open', 'client:closed']);
  });

  it('when the dependency flaps (fails, recovers, fails again), then after closing the breaker re-opens as soon as the first time', async () => {
    stub.respond = (_req, res) => json(res, 503, {});
    const c = client({ resetTimeoutMs: 200 });
    for (let i = 0; i < 3; i += 1) await c.request({ path: '/x' }).catch(() => undefined);
    expect(c.state).toBe('open');
    // Refused calls while open must not count towards the error rate later.
    for (let i = 0; i < 20; i += 1) await c.request({ path: '/x' }).catch(() => undefined);
    await delay(250);
    stub.respond = (_req, res) => json(res, 200, { ok: true });
    await c.request({ path: '/x' });
    expect(c.state).toBe('closed');
    stub.respond = (_req, res) => json(res, 503, {});
    const reachedBefore = stub.calls.length;
    for (let i = 0; i < 15; i += 1) await c.request({ path: '/x' }).catch(() => undefined);
    expect(c.state).toBe('open');
    expect(stub.calls.length - reachedBefore).toBe(3);
  });

  it('when the upstream is slower than the timeout, then 504 UPSTREAM_TIMEOUT', async () => {
    stub.respond = (_req, res) => setTimeout(() => json(res, 200, {}), 500);
    await expect(client({ timeoutMs: 100 }).request({ path: '/slow' })).rejects.toMatchObject({ status: 504, code: 'UPSTREAM_TIMEOUT' });
  });

  it('when nothing listens, then 503 UPSTREAM_UNAVAILABLE', async () => {
    const closed = new StubServer();
    const url = await closed.start();
    await closed.stop();
    await expect(client({ url }).request({ path: '/x' })).rejects.toMatchObject({ status: 503, code: 'UPSTREAM_UNAVAILABLE' });
  });
});
