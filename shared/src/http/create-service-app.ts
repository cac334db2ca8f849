import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import express, { type Express, type NextFunction, type RequestHandler } from 'express';
import helmet from 'helmet';
import proxyAddr from 'proxy-addr';
import type { ServiceConfig } from '../config';
import { type HealthCheck, HealthReportSchema, healthHandler, healthReporter } from '../health';
import type { Logger } from '../logger';
import { createMetricsRegistry, httpMetrics, type HttpMetrics, type MetricsRegistry } from '../metrics';
import { ApiRouter, createDocsRouter, OpenApiRegistry } from '../openapi';
import type { BreakerState } from '../service-client';
import type { ServiceName } from '../services';
import { requireServiceToken } from '../service-token';
import { PLATFORM_VERSION } from '../version';
import { runWithContext, type RequestContext } from '../request-context';
import { accessLog, writeAccessLine } from './access-log';
import { answerError, errorHandler, notFoundHandler } from './error-handler';
import { acceptRequestId, requestId } from './request-id';
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
  /** The process's registry (from the deps); a new one when absent. */
  metrics?: MetricsRegistry;
  /** Who may read `/metrics` (the gateway is public; services sit behind it). */
  opsAccess?: RequestHandler;
  /** Requests answered outside Express, as plain function calls (the gateway's proxied requests). */
  direct?: DirectRoutes;
}

/** One request a DirectRoutes handler answers, as the common steps have read it. */
export interface DirectRequest {
  readonly id: string;
  /** The client's address as TRUST_PROXY lets it be read (behind nginx: the real client). */
  readonly ip: string;
  /** The scheme the client used, read the same way. */
  readonly protocol: string;
  /** The metrics label of the route it matched: set by the handler once known, 'unmatched' until then. */
  route: string;
}

/**
 * A hot path that bypasses Express: requests it `takes` get the same request
 * id, access log, metrics, security headers and CORS as every other request,
 * as function calls, and are then `serve`d; whatever `serve` throws or
 * rejects with is answered in the standard error body.
 */
export interface DirectRoutes {
  takes(req: IncomingMessage): boolean;
  serve(req: IncomingMessage, res: ServerResponse, request: DirectRequest): Promise<void>;
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
  const metrics = httpMetrics(options.metrics ?? createMetricsRegistry(options.service));
  const healthOptions = {
    service: options.service,
    version: PLATFORM_VERSION,
    checks: options.healthChecks,
    breakerStates: options.breakerStates,
    degraded: options.degraded,
    instance: options.config.instanceId,
  };
  // One report (and one cache of its checks) for the direct `/health` and the public route.
  const report = healthReporter(healthOptions);
  const health = healthHandler(report);

  // The route specs of this app, for tools that read its contract (route table, combined document).
  app.locals.openapi = openapi;
  app.disable('x-powered-by');
  app.set('trust proxy', options.config.trustProxy);
  const securityHeaders = helmet();
  const crossOrigin = cors({
    origin: options.config.corsOrigins.includes('*') ? true : options.config.corsOrigins,
    // What a browser app may read: the headers our answers really carry (rate limits in the draft-7 form).
    exposedHeaders: EXPOSED_HEADERS,
  });
  app.use(requestId());
  app.use(accessLog(options.logger));
  app.use(metrics.middleware);
  app.use(securityHeaders);
  app.use(crossOrigin);
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

  // `GET /health`, polled by every load balancer and supervisor, costs no more than it must.
  const directs = [directHealth(report), ...(options.direct ? [options.direct] : [])];
  const { logger } = options;
  // The compiled TRUST_PROXY setting, so the address and scheme read here are the ones Express reads.
  const trust = app.get('trust proxy fn') as (address: string | undefined, hop: number) => boolean;
  const accessLogger = logger.isLevelEnabled('http') ? logger : undefined;
  const answer = (direct: DirectRoutes, req: IncomingMessage, res: ServerResponse) => {
    const id = acceptRequestId(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', id);
    const request: DirectRequest = { id, ip: proxyAddr(req, trust), protocol: protocolOf(req, trust), route: 'unmatched' };
    const context: RequestContext = { requestId: id, client: request };
    (res as Finishable)[FINISHING] = { req, request, context, started: performance.now(), logger: accessLogger, metrics };
    res.on('finish', requestFinished);
    runWithContext(context, () => {
      const failed = (err: unknown) => {
        if (res.headersSent) res.destroy();
        else answerError(logger, res, err, id, { method: req.method, path: req.url?.split('?')[0] });
      };
      securityHeaders(req, res, () => crossOrigin(req, res, () => direct.serve(req, res, request).catch(failed)));
    });
  };
  // The app is the server's request listener (app.listen, supertest), and it calls its own handle
  // for every request; the requests a direct route takes never reach the router.
  const routed = app as Express & { handle(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void };
  const viaExpress = routed.handle.bind(app);
  routed.handle = (req, res, next) => {
    for (const direct of directs) if (direct.takes(req)) return answer(direct, req, res);
    viaExpress(req, res, next);
  };
  return app;
}

/** What a direct request's 'finish' listener reads, kept on its response: one listener for all, no closure per request. */
interface Finishing {
  req: IncomingMessage;
  request: DirectRequest;
  context: RequestContext;
  started: number;
  /** Set when `http` lines are written. */
  logger: Logger | undefined;
  metrics: HttpMetrics;
}
const FINISHING = Symbol('finishing');
type Finishable = ServerResponse & { [FINISHING]?: Finishing };

/** Counts a finished direct request in the metrics and writes its access line. */
function requestFinished(this: Finishable): void {
  const finishing = this[FINISHING];
  if (!finishing) return;
  this[FINISHING] = undefined;
  const durationMs = performance.now() - finishing.started;
  finishing.metrics.record(finishing.req.method ?? '', finishing.request.route, this.statusCode, durationMs / 1000);
  if (finishing.logger) writeAccessLine(finishing.logger, finishing.req, this.statusCode, finishing.request.ip, durationMs, finishing.context);
}

/** `GET /health` (and HEAD) answered directly: the same report, status and `Cache-Control` as the Express route before it. */
function directHealth(health: ReturnType<typeof healthReporter>): DirectRoutes {
  return {
    takes: (req) => (req.method === 'GET' || req.method === 'HEAD') && (req.url === '/health' || req.url?.startsWith('/health?') === true),
    async serve(_req, res, request) {
      request.route = '/health';
      const { status, report } = await health();
      const body = JSON.stringify(report);
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(body);
    },
  };
}

/** `http` or `https` as the client used it: X-Forwarded-Proto when the peer is a trusted proxy (as Express's req.protocol). */
function protocolOf(req: IncomingMessage, trust: (address: string | undefined, hop: number) => boolean): string {
  const own = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  if (!trust(req.socket.remoteAddress, 0)) return own;
  const forwarded = req.headers['x-forwarded-proto'];
  const header = (typeof forwarded === 'string' && forwarded) || own;
  const comma = header.indexOf(',');
  return (comma === -1 ? header : header.slice(0, comma)).trim();
}
