import type { Request, RequestHandler, Router } from 'express';
import { Router as createRouter } from 'express';
import client from 'prom-client';

export interface Metrics {
  registry: client.Registry;
  middleware: RequestHandler;
  router: Router;
}

/** The matched route template (`/api/v1/crm/deals/:id`), never the raw path, to keep label cardinality bounded. */
function defaultRouteLabel(req: Request): string {
  return req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
}

/**
 * Prometheus metrics for one app: request count and latency histogram by
 * method, route and status, plus Node process metrics, served at `/metrics`.
 */
export function createMetrics(service: string, routeLabel: (req: Request) => string = defaultRouteLabel): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });

  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeLabel(req), status: String(res.statusCode) };
      requests.inc(labels);
      end(labels);
    });
    next();
  };

  const router = createRouter();
  router.get('/', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });
  return { registry, middleware, router };
}
