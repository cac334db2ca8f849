import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
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
  /**
   * A fixed request rate (for latency at a given load): sent open-loop, on schedule whether or not earlier
   * answers are in, over at most `connections` sockets, each latency counted from the request's scheduled
   * time, so a stall shows in the latency instead of slowing the sender (no coordinated omission).
   */
  overallRate?: number;
  warmupSeconds?: number;
}

export type LoadResult = Omit<Measurement, 'scenario' | 'target' | 'completed'> & { completed: number };

/** One run after a short warm-up; errors count connection errors, timeouts and non-2xx. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  if (options.overallRate !== undefined) {
    if ((options.warmupSeconds ?? 2) > 0) await openLoop(options, options.overallRate, options.warmupSeconds ?? 2);
    return openLoop(options, options.overallRate, options.durationSeconds);
  }
  const base = {
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    requests: options.requests,
    connections: options.connections ?? CONNECTIONS,
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

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
const round2 = (ms: number) => Math.round(ms * 100) / 100;

/** Open-loop load at `rate` requests/s for `seconds` (see `LoadOptions.overallRate`). */
async function openLoop(options: LoadOptions, rate: number, seconds: number): Promise<LoadResult> {
  if (options.requests) throw new Error('an open-loop run sends one fixed request');
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections ?? CONNECTIONS });
  const latencies: number[] = [];
  let errors = 0;
  let completed = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (scheduled: number) =>
    new Promise<void>((resolve) => {
      const request = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: options.method ?? 'GET',
          headers: options.headers,
          timeout: 30_000,
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            completed += 1;
            latencies.push(performance.now() - scheduled);
            if ((response.statusCode ?? 0) >= 300) errors += 1;
            resolve();
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', () => {
        errors += 1;
        latencies.push(performance.now() - scheduled);
        resolve();
      });
      request.end(options.body);
    });
  const started = performance.now();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i += 1) {
    const scheduled = started + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait >= 1) await delay(wait);
    const sent = send(scheduled);
    inFlight.add(sent);
    void sent.then(() => inFlight.delete(sent));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: Math.round(completed / elapsed),
    p50: round2(percentile(latencies, 50)),
    p99: round2(percentile(latencies, 99)),
    errors,
    completed,
  };
}

/** A seeded generator (mulberry32): one seed gives one sequence, so runs pick the same tenants in the same order. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Picks an index in [0, n) per call: uniformly, or Zipf-distributed with exponent `s` (index 0 the most
 * often, index k with weight 1 / (k + 1)^s), from a seeded generator.
 */
export function indexPicker(n: number, distribution: 'uniform' | { zipf: number }, random: () => number): () => number {
  if (distribution === 'uniform') return () => Math.floor(random() * n);
  const cumulative: number[] = [];
  let sum = 0;
  for (let k = 0; k < n; k += 1) {
    sum += 1 / (k + 1) ** distribution.zipf;
    cumulative.push(sum);
  }
  return () => {
    const target = random() * sum;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid]! < target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

export interface Running {
  url: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** Starts a service entry point in its own process on a free port (on `node`, by default this Node) and waits for its URL. */
export async function startProcess(entry: string, env: Record<string, string>, node?: string): Promise<Running> {
  const proc = runTypeScript(entry, { NODE_ENV: 'production', LOG_LEVEL: 'info', ...env }, [], node);
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

/**
 * The table: the headline runtime's rows in full and, when another runtime ran
 * the same scenarios, its req/s, p99 and ratio beside them (matched by
 * scenario and target, in order).
 */
export function printTable(rows: Measurement[], other?: { label: string; rows: Measurement[] }): void {
  const others = new Map<string, Measurement[]>();
  for (const r of other?.rows ?? []) others.set(`${r.scenario}\u0000${r.target}`, [...(others.get(`${r.scenario}\u0000${r.target}`) ?? []), r]);
  const extraHeader = other ? ` ${other.label} req/s | ${other.label} p99 ms | ${other.label} ratio |` : '';
  const header = `| scenario | target | req/s | p50 ms | p99 ms | errors | ratio | note |${extraHeader}`;
  const lines = rows.map((r) => {
    const base = `| ${r.scenario} | ${r.target} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.ratio ?? ''} | ${r.note ?? ''} |`;
    if (!other) return base;
    const match = others.get(`${r.scenario}\u0000${r.target}`)?.shift();
    return `${base} ${match?.requestsPerSecond ?? '—'} | ${match?.p99 ?? '—'} | ${match?.ratio ?? ''} |`;
  });
  const rule = `|---|---|---:|---:|---:|---:|---:|---|${other ? '---:|---:|---:|' : ''}`;
  process.stdout.write(`\n${header}\n${rule}\n${lines.join('\n')}\n`);
}
