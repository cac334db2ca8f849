import type { Request, RequestHandler, Router } from 'express';
import { Router as createRouter } from 'express';
import client from 'prom-client';

/**
 * One Prometheus registry per process (carried in the service's deps), so the
 * HTTP layer, the service clients, the pools and the domain all report into
 * the same `/metrics`. Names follow Prometheus conventions (`_total`,
 * `_seconds`). No metric has a tenant label: with 1,000+ tenants that is
 * unbounded cardinality; per-tenant usage is the billing service's job.
 */
export type MetricsRegistry = client.Registry;

export function createMetricsRegistry(service: string): MetricsRegistry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

/** A gauge read when scraped (pool sizes, breaker states): `read` gives the labelled values. Registered once per name. */
export function observedGauge<L extends string>(
  registry: MetricsRegistry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Array<[Record<L, string>, number]>,
): void {
  if (registry.getSingleMetric(name)) return;
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/** A counter on the registry, created once per name (several importers may ask for the same one). */
export function counter<L extends string>(registry: MetricsRegistry, name: string, help: string, labelNames: readonly L[]): client.Counter<L> {
  return (registry.getSingleMetric(name) as client.Counter<L> | undefined) ?? new client.Counter({ name, help, labelNames, registers: [registry] });
}

export interface HttpMetrics {
  middleware: RequestHandler;
  router: Router;
  /** Counts one answered request and its latency (for handlers outside Express). */
  record(method: string, route: string, status: number, seconds: number): void;
}

/** The matched route template (`/api/v1/crm/deals/:id`), never the raw path, to keep label cardinality bounded. */
function defaultRouteLabel(req: Request): string {
  return req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
}

/**
 * Request count and latency histogram by method, route template and status,
 * and the registry served at `/metrics`.
 */
export function httpMetrics(registry: MetricsRegistry, routeLabel: (req: Request) => string = defaultRouteLabel): HttpMetrics {
  const requests = counter(registry, 'http_requests_total', 'HTTP requests answered', ['method', 'route', 'status']);
  const duration =
    (registry.getSingleMetric('http_request_duration_seconds') as client.Histogram<'method' | 'route' | 'status'> | undefined) ??
    new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });

  // Each method, route and status gets its labelled series once; a request then adds to them without
  // building a label object and its hash string twice (as inc(labels) and observe(labels) would).
  const series = new Map<string, Map<string, Map<number, { count: client.Counter.Internal; latency: client.Histogram.Internal<string> }>>>();
  const seriesOf = (method: string, route: string, status: number) => {
    let byRoute = series.get(method);
    if (!byRoute) {
      byRoute = new Map();
      series.set(method, byRoute);
    }
    let byStatus = byRoute.get(route);
    if (!byStatus) {
      byStatus = new Map();
      byRoute.set(route, byStatus);
    }
    let found = byStatus.get(status);
    if (!found) {
      const labels = { method, route, status: String(status) };
      found = { count: requests.labels(labels), latency: duration.labels(labels) };
      byStatus.set(status, found);
    }
    return found;
  };
  const record = (method: string, route: string, status: number, seconds: number) => {
    const { count, latency } = seriesOf(method, route, status);
    count.inc();
    latency.observe(seconds);
  };

  const middleware: RequestHandler = (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => record(req.method, routeLabel(req), res.statusCode, (performance.now() - started) / 1000));
    next();
  };

  const router = createRouter();
  router.get('/', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });
  return { middleware, router, record };
}
