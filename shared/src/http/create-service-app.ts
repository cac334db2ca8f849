import cors from 'cors';
import express, { type Express, type Request, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { ServiceConfig } from '../config';
import { type HealthCheck, HealthReportSchema, healthHandler } from '../health';
import type { Logger } from '../logger';
import { createMetricsRegistry, httpMetrics, type MetricsRegistry } from '../metrics';
import { ApiRouter, createDocsRouter, OpenApiRegistry } from '../openapi';
import type { BreakerState } from '../service-client';
import type { ServiceName } from '../services';
import { requireServiceToken } from '../service-token';
import { PLATFORM_VERSION } from '../version';
import { accessLog } from './access-log';
import { errorHandler, notFoundHandler } from './error-handler';
import { requestId } from './request-id';
import { requireJsonBody } from './require-json';

export interface ServiceAppOptions {
  service: ServiceName;
  config: Pick<ServiceConfig, 'corsOrigins' | 'bodyLimit' | 'trustProxy' | 'serviceJwtSecret' | 'instanceId'>;
  logger: Logger;
  healthChecks: Record<string, HealthCheck>;
  breakerStates?: () => Record<string, BreakerState>;
  /** Dependencies the service is running without, degraded but serving (e.g. Redis). */
  degraded?: () => string[];
  /** The service's own routes; mounted after JSON body parsing. */
  routes?: (app: Express, openapi: OpenApiRegistry) => void;
  /** Routes that must see the raw request stream (the gateway's proxy); mounted before body parsing. */
  streamingRoutes?: (app: Express, openapi: OpenApiRegistry) => void;
  /** Replaces the service's own OpenAPI document (the gateway serves a combined one). */
  openApiDocument?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Route label for metrics when Express has no matched route (e.g. proxied paths). */
  metricsRouteLabel?: (req: Request) => string;
  /** The process's registry (from the deps); a new one when absent. */
  metrics?: MetricsRegistry;
  /** Who may read `/metrics` (the gateway is public; services sit behind it). */
  opsAccess?: RequestHandler;
}

/** Response headers a browser app may read. */
export const EXPOSED_HEADERS = [
  'X-Request-Id',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'Location',
  'ETag',
  'Idempotent-Replayed',
  'Preference-Applied',
  'Allow',
];

/**
 * The Express app every service is built on: request id, access log, metrics,
 * helmet, CORS, `/health`, `/metrics`, `/openapi.json` + `/docs`, a JSON body
 * limit, the service's routes, 404 and the one error middleware. No listen().
 */
export function createServiceApp(options: ServiceAppOptions): Express {
  const app = express();
  const openapi = new OpenApiRegistry({
    title: `Codex Metatron ${options.service} service`,
    version: PLATFORM_VERSION,
  });
  const metrics = httpMetrics(
    options.metrics ?? createMetricsRegistry(options.service),
    options.metricsRouteLabel && ((req) => (req.route ? `${req.baseUrl}${String(req.route.path)}` : options.metricsRouteLabel!(req))),
  );
  const health = healthHandler({
    service: options.service,
    version: PLATFORM_VERSION,
    checks: options.healthChecks,
    breakerStates: options.breakerStates,
    degraded: options.degraded,
    instance: options.config.instanceId,
  });

  // The route specs of this app, for tools that read its contract (route table, combined document).
  app.locals.openapi = openapi;
  app.disable('x-powered-by');
  app.set('trust proxy', options.config.trustProxy);
  app.use(requestId());
  app.use(accessLog(options.logger));
  app.use(metrics.middleware);
  app.use(helmet());
  app.use(
    cors({
      origin: options.config.corsOrigins.includes('*') ? true : options.config.corsOrigins,
      // What a browser app may read: the headers our answers really carry (rate limits in the draft-7 form).
      exposedHeaders: EXPOSED_HEADERS,
    }),
  );
  app.get('/health', health);
  app.use('/metrics', ...(options.opsAccess ? [options.opsAccess] : []), metrics.router);
  app.use(createDocsRouter(options.openApiDocument ?? (() => openapi.document())));

  if (options.service !== 'gateway') {
    // Health through the gateway, needing no credentials, is part of the public contract.
    const publicHealth = new ApiRouter(openapi, `/api/v1/${options.service}`);
    publicHealth.get(
      '/health',
      {
        operationId: `get${options.service[0]!.toUpperCase()}${options.service.slice(1)}Health`,
        summary: `Health of the ${options.service} service: its database check and breakers`,
        tags: ['health'],
        responses: {
          200: { description: 'Every check passes', schema: HealthReportSchema },
          503: { description: 'A check fails', schema: HealthReportSchema },
        },
        access: 'public',
      },
      health,
    );
    app.use(`/api/v1/${options.service}`, publicHealth.router);
    // Every service route acts for an identity the gateway (or, under /internal, a peer) verified and signed.
    const verified = requireServiceToken(options.service, options.config.serviceJwtSecret);
    app.use(`/api/v1/${options.service}`, verified);
    app.use('/internal', verified);
  }
  options.streamingRoutes?.(app, openapi);

  app.use(requireJsonBody((method, path) => openapi.takesRawBody(method, path)));
  app.use(express.json({ limit: options.config.bodyLimit, strict: true }));
  options.routes?.(app, openapi);

  app.use(notFoundHandler((path) => openapi.methodsAt(path)));
  app.use(errorHandler(options.logger));
  return app;
}
