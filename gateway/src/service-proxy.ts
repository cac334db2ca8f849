import http from 'node:http';
import type { Socket } from 'node:net';
import { AppError, ErrorCode, sendError, type BackendServiceName, type Logger, type ServiceTokenSigner } from '@codex/shared';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, debugProxyErrorsPlugin, proxyEventsPlugin } from 'http-proxy-middleware';

export interface ServiceProxyOptions {
  service: BackendServiceName;
  baseUrl: string;
  timeoutMs: number;
  logger: Logger;
  /** Signs the service JWT that carries the verified identity to the service. */
  signer: ServiceTokenSigner;
}

/** Headers a client might use to claim an identity; services ignore them, and we never pass them on. */
const IDENTITY_HEADERS = ['x-api-key', 'x-tenant-id', 'x-user-id', 'x-admin-id', 'x-roles', 'x-identity', 'x-service-token', 'cookie'];
/** Also `expect`: this server answers a 100-continue itself. */
const NOT_FORWARDED = [...IDENTITY_HEADERS, 'expect'];

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Methods a client may send twice with the same effect, and without a body we would have to send again. */
const REPEATABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Hop-by-hop headers: about one connection, never passed on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/**
 * Streams `/api/v1/<service>/...` to the service unchanged, over keep-alive
 * connections (one agent per upstream). The client's credentials stay here:
 * the service gets a fresh service JWT with the verified identity instead,
 * and the request id. Upstream failures answer in the standard error body.
 */
export function createServiceProxy(options: ServiceProxyOptions): RequestHandler[] {
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' });
  // A retry must not take another kept-alive connection: when an instance drains for a restart it closes
  // all of its idle connections at once, and the pool may hold several of them.
  const freshConnections = new http.Agent({ keepAlive: false, maxSockets: 64 });
  const timedOut = new WeakSet<http.IncomingMessage>();
  const retried = new WeakMap<http.IncomingMessage, number>();

  const onError = (err: Error & { code?: string }, req: http.IncomingMessage, res: http.ServerResponse | Socket) => {
    const requestId = (req as Request).id;
    if (!('writeHead' in res)) {
      res.destroy();
      return;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A connection the service closed before answering (a kept-alive one reused just as it closed, or one
    // handed to an instance that is draining for a restart): a request that may be repeated, and has no
    // answer yet, goes again on a new connection (which reaches an instance still accepting), up to twice.
    const attempts = retried.get(req) ?? 0;
    if (err.code === 'ECONNRESET' && REPEATABLE.has(req.method ?? '') && attempts < 2) {
      retried.set(req, attempts + 1);
      retryProxy(req as Request, res as Response, () =>
        sendError(res, new AppError(ErrorCode.UPSTREAM_ERROR, 502, `${options.service} service failed to answer`), requestId),
      );
      return;
    }
    let error: AppError;
    if (timedOut.has(req)) {
      error = new AppError(ErrorCode.UPSTREAM_TIMEOUT, 504, `${options.service} service did not answer in time`);
    } else if (err.code && UNREACHABLE.has(err.code)) {
      error = new AppError(ErrorCode.UPSTREAM_UNAVAILABLE, 503, `${options.service} service is unavailable`);
    } else {
      error = new AppError(ErrorCode.UPSTREAM_ERROR, 502, `${options.service} service failed to answer`);
    }
    options.logger.warn('proxy error', { upstream: options.service, code: err.code, status: error.status });
    sendError(res, error, requestId);
  };

  /**
   * Streams a service's answer to the caller as it comes. A redirect is never
   * passed on (its Location would name an internal address, and services do
   * not redirect): it reads as 502 UPSTREAM_ERROR. 304 is not a redirect.
   */
  const relayAnswer = (proxyRes: http.IncomingMessage, req: Request, res: http.ServerResponse) => {
    const status = proxyRes.statusCode ?? 502;
    if (status >= 300 && status < 400 && status !== 304) {
      proxyRes.resume();
      options.logger.warn('upstream answered a redirect', { upstream: options.service, status });
      sendError(res, new AppError(ErrorCode.UPSTREAM_ERROR, 502, `${options.service} service answered a redirect`), req.id);
      return;
    }
    const headers = { ...proxyRes.headers };
    for (const header of HOP_BY_HOP) delete headers[header];
    res.writeHead(status, proxyRes.statusMessage, headers);
    proxyRes.pipe(res);
  };

  const proxyOver = (connections: http.Agent) =>
    createProxyMiddleware({
      target: `${options.baseUrl}/api/v1/${options.service}`,
      agent: connections,
      xfwd: true,
      proxyTimeout: options.timeoutMs,
      // We answer errors ourselves in the standard body, so the default error plugin is left out.
      ejectPlugins: true,
      plugins: [debugProxyErrorsPlugin, proxyEventsPlugin],
      // Answers are passed on by relayAnswer, which refuses redirects.
      selfHandleResponse: true,
      on: {
        proxyReq: (proxyReq, req) => {
          proxyReq.on('timeout', () => timedOut.add(req));
        },
        proxyRes: (proxyRes, req, res) => relayAnswer(proxyRes, req as Request, res),
        error: onError,
      },
    }) as unknown as RequestHandler;
  const proxy = proxyOver(agent);
  const retryProxy = proxyOver(freshConnections);

  // The upstream headers are set on the incoming request, which the proxy copies, rather than in its
  // 'proxyReq' event: http-proxy skips that event for requests with `Expect: 100-continue` (curl sends
  // it for uploads over 1 MB), which would forward the caller's own credentials and no service JWT.
  // This server has already answered the 100-continue, so the upstream gets no `Expect` at all.
  const withServiceIdentity: RequestHandler = (req, _res, next) => {
    for (const header of NOT_FORWARDED) delete req.headers[header];
    const { caller: _caller, ...identity } = req.identity ?? { caller: 'gateway', roles: [] };
    req.headers.authorization = `Bearer ${options.signer.sign(options.service, identity)}`;
    req.headers['x-request-id'] = req.id;
    next();
  };
  return [withServiceIdentity, proxy];
}
