import { cpus } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { loadLauncherConfig, migratePlatform, SERVICE_PORTS } from '@codex/shared';
import { openPlatformDatabase, type PlatformDatabase } from '../scripts/lib/database';
import { findNginx, startNginx, type RunningNginx } from '../scripts/lib/nginx';
import { runTypeScript, type RunningProcess } from '../test/support/processes';
import { closedPortUrl } from '../test/support/listen';

/**
 * `npm run bench [-- <scenario>]`: starts what each scenario needs, loads it
 * with autocannon, and prints req/s, p50/p99 latency and errors, with the
 * ratio against a reference measured in the same run on the same machine.
 */

const DURATION_SECONDS = Number(process.argv.find((a) => a.startsWith('--duration='))?.split('=')[1] ?? 10);
const CONNECTIONS = 50;

interface Measurement {
  scenario: string;
  target: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** This row's throughput ÷ the reference row's, when the row is compared. */
  ratio?: string;
}

interface Context {
  databaseUrl: string;
  cleanup: Array<() => Promise<void>>;
}

async function load(url: string, warmupSeconds = 2): Promise<Omit<Measurement, 'scenario' | 'target'>> {
  await autocannon({ url, connections: CONNECTIONS, duration: warmupSeconds });
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_SECONDS });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

async function startService(entry: string, env: Record<string, string>, ctx: Context): Promise<string> {
  const proc: RunningProcess = runTypeScript(entry, { NODE_ENV: 'production', SERVICE_JWT_SECRET: 'bench-only-service-secret-0123456789abcdef', LOG_LEVEL: 'info', ...env });
  ctx.cleanup.push(async () => {
    proc.child.kill('SIGTERM');
    await proc.exited;
  });
  const [, url] = await proc.waitForOutput(/(?:"url":"|listening on )(http:\/\/[0-9.:]+)/, 30_000);
  return url!;
}

async function startCrm(ctx: Context): Promise<string> {
  return startService('services/crm/src/main.ts', { DATABASE_URL: ctx.databaseUrl, CRM_PORT: '0', LOG_LEVEL: 'info' }, ctx);
}

function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)}×`;
}

const SCENARIOS: Record<string, { description: string; run(ctx: Context): Promise<Measurement[]> }> = {
  health: {
    description: "a service's /health vs a bare node:http server answering the same JSON",
    async run(ctx) {
      const crm = await startCrm(ctx);
      const bare = await startService('bench/bare-server.ts', {}, ctx);
      const service = await load(`${crm}/health`);
      const reference = await load(`${bare}/`);
      return [
        { scenario: 'health', target: 'bare node:http (reference)', ...reference },
        { scenario: 'health', target: 'crm service /health', ...service, ratio: ratio(service.requestsPerSecond, reference.requestsPerSecond) },
      ];
    },
  },
  proxy: {
    description: 'the gateway proxying to a service vs nginx proxying to it (upstream keep-alive)',
    async run(ctx) {
      const crm = await startCrm(ctx);
      const gateway = await startService(
        'gateway/src/main.ts',
        { DATABASE_URL: ctx.databaseUrl, GATEWAY_PORT: '0', CRM_URL: crm, LOG_LEVEL: 'info' },
        ctx,
      );
      const path = '/api/v1/crm/health';
      const direct = await load(`${crm}${path}`);
      const viaGateway = await load(`${gateway}${path}`);
      const rows: Measurement[] = [
        { scenario: 'proxy', target: 'crm directly (no proxy)', ...direct },
        { scenario: 'proxy', target: 'gateway → crm', ...viaGateway },
      ];
      if (!findNginx()) {
        process.stdout.write('nginx is not installed (apt-get install nginx): the nginx reference and the ratio are skipped.\n');
        return rows;
      }
      const nginx: RunningNginx = await startNginx({
        listenPort: Number(new URL(await closedPortUrl()).port),
        gatewayAddress: new URL(crm).host,
        withoutRateLimits: true,
      });
      ctx.cleanup.push(() => nginx.stop());
      const viaNginx = await load(`${nginx.url}${path}`);
      rows.splice(1, 0, { scenario: 'proxy', target: 'nginx → crm (reference)', ...viaNginx });
      rows[2]!.ratio = ratio(viaGateway.requestsPerSecond, viaNginx.requestsPerSecond);
      return rows;
    },
  },
};

function printTable(rows: Measurement[]): void {
  const header = '| scenario | target | req/s | p50 ms | p99 ms | errors | ratio |';
  const lines = rows.map(
    (r) => `| ${r.scenario} | ${r.target} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.ratio ?? ''} |`,
  );
  process.stdout.write(`\n${header}\n|---|---|---:|---:|---:|---:|---:|\n${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const unknown = requested.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown scenario(s): ${unknown.join(', ')}. Known: ${Object.keys(SCENARIOS).join(', ')}\n`);
    process.exit(2);
  }
  const names = requested.length > 0 ? requested : Object.keys(SCENARIOS);
  // Its own embedded cluster and port, so a running `npm start` is not disturbed.
  const launcher = loadLauncherConfig({ DATA_DIR: path.join('.data', 'bench'), EMBEDDED_PG_PORT: String(SERVICE_PORTS.gateway + 51_321), ...process.env });
  const database: PlatformDatabase = await openPlatformDatabase(launcher);
  await migratePlatform(database.masterUrl);
  process.stdout.write(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${CONNECTIONS} connections, ${DURATION_SECONDS} s per run.\n`,
  );
  const rows: Measurement[] = [];
  try {
    for (const name of names) {
      const scenario = SCENARIOS[name]!;
      process.stdout.write(`Running ${name}: ${scenario.description}…\n`);
      const ctx: Context = { databaseUrl: database.masterUrl, cleanup: [] };
      try {
        rows.push(...(await scenario.run(ctx)));
      } finally {
        for (const step of ctx.cleanup.reverse()) await step();
      }
    }
  } finally {
    await database.embedded?.stop();
  }
  printTable(rows);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
