import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { createGracefulShutdown, createLogger, listen } from '../src';

/**
 * `requestArrived` resolves once the server holds the first request: a fixed pause before shutting
 * down let a slow CI machine shut down before the request had even connected.
 */
async function startSlowServer(requestMs: number, events: string[] = []) {
  const app = express();
  let markArrived: () => void = () => undefined;
  const requestArrived = new Promise<void>((resolve) => {
    markArrived = resolve;
  });
  app.get('/slow', async (_req, res) => {
    markArrived();
    await delay(requestMs, undefined, { ref: false });
    res.once('finish', () => events.push('response sent'));
    res.json({ done: true });
  });
  const server = await listen(app, 0, '127.0.0.1');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, requestArrived };
}

describe('graceful shutdown', () => {
  const logger = createLogger('test', { silent: true });

  it('when shutdown starts during a request, then the request completes, new connections are refused, and resources close after', async () => {
    const events: string[] = [];
    const { server, url, requestArrived } = await startSlowServer(300, events);
    const shutdown = createGracefulShutdown(server, {
      logger,
      timeoutMs: 5_000,
      onClose: async () => {
        events.push('resources closed');
      },
    });
    const inFlight = fetch(`${url}/slow`).then(async (res) => ({ status: res.status, body: await res.json() }));
    await requestArrived;
    const stopping = shutdown();
    await delay(20);
    await expect(fetch(`${url}/slow`)).rejects.toThrow();
    expect(await inFlight).toEqual({ status: 200, body: { done: true } });
    await stopping;
    expect(events).toEqual(['response sent', 'resources closed']);
  });

  it('when a request outlives the deadline, then its connection is cut and shutdown still ends', async () => {
    const { server, url, requestArrived } = await startSlowServer(10_000);
    const shutdown = createGracefulShutdown(server, { logger, timeoutMs: 200, onClose: async () => undefined });
    const inFlight = fetch(`${url}/slow`).then(
      () => 'answered',
      () => 'cut',
    );
    await requestArrived;
    const started = Date.now();
    await shutdown();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await inFlight).toBe('cut');
  });
});
