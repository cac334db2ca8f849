import autocannon from 'autocannon';
import { runTypeScript, type RunningProcess } from '../test/support/processes';

export const CONNECTIONS = 50;

export interface Measurement {
  scenario: string;
  target: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** Responses received (2xx and others) in the measured run. */
  completed?: number;
  /** This row's throughput ÷ its reference's, or another comparison the scenario states. */
  ratio?: string;
  note?: string;
}

export interface LoadOptions {
  url: string;
  durationSeconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Cycles through these per connection instead of one fixed request. */
  requests?: autocannon.Request[];
  connections?: number;
  /** Fixed request rate across all connections (for latency at a given load). */
  overallRate?: number;
  warmupSeconds?: number;
}

export type LoadResult = Omit<Measurement, 'scenario' | 'target' | 'completed'> & { completed: number };

/** One autocannon run after a short warm-up; errors count connection errors, timeouts and non-2xx. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const base = {
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    requests: options.requests,
    connections: options.connections ?? CONNECTIONS,
    overallRate: options.overallRate,
  };
  if ((options.warmupSeconds ?? 2) > 0) await autocannon({ ...base, duration: options.warmupSeconds ?? 2 });
  const result = await autocannon({ ...base, duration: options.durationSeconds });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    completed: result['2xx'] + result.non2xx,
  };
}

export interface Running {
  url: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** Starts a service entry point in its own process on a free port and waits for its URL. */
export async function startProcess(entry: string, env: Record<string, string>): Promise<Running> {
  const proc = runTypeScript(entry, { NODE_ENV: 'production', LOG_LEVEL: 'info', ...env });
  const [, url] = await proc.waitForOutput(/(?:"url":"|listening on )(http:\/\/[0-9.:]+)/, 30_000);
  return {
    url: url!,
    process: proc,
    async stop() {
      proc.child.kill('SIGTERM');
      await proc.exited;
    },
  };
}

export function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)}×`;
}

export function printTable(rows: Measurement[]): void {
  const header = '| scenario | target | req/s | p50 ms | p99 ms | errors | ratio | note |';
  const lines = rows.map(
    (r) => `| ${r.scenario} | ${r.target} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.ratio ?? ''} | ${r.note ?? ''} |`,
  );
  process.stdout.write(`\n${header}\n|---|---|---:|---:|---:|---:|---:|---|\n${lines.join('\n')}\n`);
}
