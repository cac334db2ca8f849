import cluster from 'node:cluster';
import path from 'node:path';

/**
 * The gateway as PM2's cluster mode runs it, for the `cluster` scenario:
 * GATEWAY_WORKERS node:cluster workers of gateway/src/main.ts sharing
 * GATEWAY_PORT (the primary accepts and hands connections round-robin).
 * Prints `listening on <url>` once every worker listens (run the workers at LOG_LEVEL=warn, so that
 * their own `listening` lines do not announce the first one alone); SIGTERM stops them all.
 */
const workers = Number(process.env.GATEWAY_WORKERS ?? 2);
const port = process.env.GATEWAY_PORT!;
cluster.setupPrimary({ exec: path.resolve(__dirname, '../gateway/src/main.ts'), execArgv: process.execArgv });
let listening = 0;
cluster.on('listening', () => {
  listening += 1;
  if (listening === workers) process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});
cluster.on('exit', (worker, code) => {
  if (!stopping) process.stderr.write(`gateway worker ${worker.id} exited with ${code}\n`);
});
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  cluster.disconnect(() => process.exit(0));
});
for (let i = 0; i < workers; i += 1) cluster.fork();
