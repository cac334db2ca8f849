import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The reference for a service's /health: a plain node:http server answering
 * a JSON body of the same shape and size, with no framework at all.
 */
const body = JSON.stringify({
  status: 'ok',
  service: 'crm',
  version: '0.1.0',
  uptimeSeconds: 1,
  checks: { database: { status: 'ok', latencyMs: 1 } },
  breakers: {},
});

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
