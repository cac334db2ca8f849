import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createServiceTokenSigner } from '@codex/shared';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { createServiceProxy } from '../gateway/src/service-proxy';

/**
 * The two proxy libraries side by side for the `proxy` scenario: an Express 5
 * app that only forwards `/api/v1/crm/…` to UPSTREAM_URL over kept-alive
 * connections, signing a service JWT (reused, as the gateway does), either
 * with http-proxy-middleware (PROXY_LIBRARY=hpm, what the gateway used before)
 * or with the gateway's undici proxy (PROXY_LIBRARY=undici). Nothing else runs
 * per request, so the difference is the libraries'.
 */
const upstream = process.env.UPSTREAM_URL!;
const library = process.env.PROXY_LIBRARY === 'hpm' ? 'hpm' : 'undici';
const signer = createServiceTokenSigner('gateway', process.env.SERVICE_JWT_SECRET!);
const logger = createLogger('gateway', { level: 'warn' });

const app = express();
if (library === 'hpm') {
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' });
  app.use(
    '/api/v1/crm',
    createProxyMiddleware({
      target: upstream,
      agent,
      pathRewrite: (_path, req) => (req as express.Request).originalUrl,
      on: {
        proxyReq: (proxyReq) => {
          proxyReq.setHeader('authorization', `Bearer ${signer.sign('crm', undefined)}`);
        },
      },
    }),
  );
} else {
  const proxy = createServiceProxy({ service: 'crm', baseUrl: upstream, timeoutMs: 30_000, logger, signer });
  app.use('/api/v1/crm', (req, res) => {
    // The mount took its prefix off req.url; the service is asked for the whole path.
    req.url = req.originalUrl;
    proxy.forward(req, res, { requestId: 'bench', identity: { caller: 'gateway', roles: [] }, protocol: 'http' });
  });
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
