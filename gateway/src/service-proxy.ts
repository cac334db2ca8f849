import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { AppError, ErrorCode, sendError, type BackendServiceName, type Identity, type Logger, type ServiceTokenSigner } from '@codex/shared';
import { Client, Pool, type Dispatcher } from 'undici';

export interface ServiceProxyOptions {
  service: BackendServiceName;
  baseUrl: string;
  timeoutMs: number;
  logger: Logger;
  /** Signs the service JWT that carries the verified identity to the service. */
  signer: ServiceTokenSigner;
}

/** A request the gateway has let through, and who it is for. */
export interface ForwardedCall {
  requestId: string;
  identity: Identity;
  /** The scheme the client used, as TRUST_PROXY lets it be read. */
  protocol: string;
}

export interface ServiceProxy {
  /** Streams the request to the service and its answer back; failures answer in the standard error body. */
  forward(req: IncomingMessage, res: ServerResponse, call: ForwardedCall): void;
  /** Closes the kept-alive connections to the service. */
  close(): Promise<void>;
}

/** Hop-by-hop headers: about one connection, never passed on either way (RFC 9110 §7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/**
 * Never passed on to a service: headers a client might use to claim an identity (services ignore them;
 * the service JWT carries it), `expect` (this server has already answered a 100-continue), hop-by-hop.
 */
const NOT_FORWARDED = new Set([
  'x-api-key',
  'x-tenant-id',
  'x-user-id',
  'x-admin-id',
  'x-roles',
  'x-identity',
  'x-service-token',
  'cookie',
  'authorization',
  'expect',
  ...HOP_BY_HOP,
]);

/** Never relayed from a service's answer. */
const NOT_RELAYED = new Set(HOP_BY_HOP);

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** The service closed the connection before it answered. */
const DROPPED = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);

/** Methods a client may send twice with the same effect, and without a body we would have to send again. */
const REPEATABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Extra attempts, each on a new connection, of a repeatable request the service dropped unanswered. */
const RETRIES = 2;

/**
 * Streams `/api/v1/<service>/...` to the service unchanged, over an undici
 * pool of kept-alive connections. The client's credentials stay here: the
 * service gets a fresh service JWT with the verified identity instead, and the
 * request id. Upstream failures answer in the standard error body.
 *
 * undici rather than http-proxy-middleware: in the same benchmark run it
 * costs the gateway less per request (docs/benchmarks.md, "proxy").
 */
export function createServiceProxy(options: ServiceProxyOptions): ServiceProxy {
  const upstream = new URL(options.baseUrl);
  const pathPrefix = upstream.pathname.replace(/\/$/, '');
  const timeouts = { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs };
  const pool = new Pool(upstream.origin, { ...timeouts, connections: 512, keepAliveTimeout: 4_000 });

  const upstreamHeaders = (req: IncomingMessage, call: ForwardedCall): Record<string, string | string[]> => {
    const headers: Record<string, string | string[]> = {};
    const incoming: IncomingHttpHeaders = req.headers;
    for (const name in incoming) {
      const value = incoming[name];
      if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value;
    }
    const { caller: _caller, ...identity } = call.identity;
    headers.authorization = `Bearer ${options.signer.sign(options.service, identity)}`;
    headers['x-request-id'] = call.requestId;
    const remote = req.socket.remoteAddress ?? '';
    const forwardedFor = incoming['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${remote}` : remote;
    headers['x-forwarded-proto'] = call.protocol;
    if (incoming.host) headers['x-forwarded-host'] = incoming.host;
    return headers;
  };

  const failure = (err: Error & { code?: string }): AppError => {
    if (err.code && TIMED_OUT.has(err.code)) return new AppError(ErrorCode.UPSTREAM_TIMEOUT, 504, `${options.service} service did not answer in time`);
    if (err.code && UNREACHABLE.has(err.code)) return new AppError(ErrorCode.UPSTREAM_UNAVAILABLE, 503, `${options.service} service is unavailable`);
    return new AppError(ErrorCode.UPSTREAM_ERROR, 502, `${options.service} service failed to answer`);
  };

  /**
   * Streams a service's answer to the caller as it comes. A redirect is never
   * passed on (its Location would name an internal address, and services do
   * not redirect): it reads as 502 UPSTREAM_ERROR. 304 is not a redirect.
   */
  const relay = (answer: Dispatcher.ResponseData, res: ServerResponse, requestId: string) => {
    const status = answer.statusCode;
    if (status >= 300 && status < 400 && status !== 304) {
      answer.body.resume();
      options.logger.warn('upstream answered a redirect', { upstream: options.service, status });
      sendError(res, new AppError(ErrorCode.UPSTREAM_ERROR, 502, `${options.service} service answered a redirect`), requestId);
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const name in answer.headers) {
      const value = answer.headers[name];
      if (value !== undefined && !NOT_RELAYED.has(name)) headers[name] = value;
    }
    res.writeHead(status, headers);
    // pipe, not stream.pipeline: pipeline makes an AbortController per call and aborts it when done,
    // building a DOMException each time (3 % of the gateway's CPU under load). A failure after the
    // head is sent can only end the connection.
    answer.body.once('error', () => res.destroy());
    answer.body.pipe(res);
  };

  /**
   * A connection the service closed before answering (a kept-alive one reused just as it closed, or
   * one handed to an instance that is draining for a restart): a request that may be repeated goes
   * again on a new connection, which reaches an instance still accepting, not on another kept-alive
   * one (a draining instance closes all of its idle connections at once).
   */
  const onFreshConnection = async (request: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> => {
    const client = new Client(upstream.origin, timeouts);
    try {
      const answer = await client.request({ ...request, reset: true });
      answer.body.once('close', () => void client.close());
      return answer;
    } catch (err) {
      void client.destroy();
      throw err;
    }
  };

  const forward = (req: IncomingMessage, res: ServerResponse, call: ForwardedCall) => {
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const request: Dispatcher.RequestOptions = {
      path: pathPrefix + req.url,
      method: req.method as Dispatcher.HttpMethod,
      headers: upstreamHeaders(req, call),
      body: hasBody ? req : null,
      signal: abort.signal,
    };
    const send = async (attempt: number): Promise<void> => {
      try {
        relay(await (attempt === 0 ? pool.request(request) : onFreshConnection(request)), res, call.requestId);
      } catch (caught) {
        const err = caught as Error & { code?: string };
        if (abort.signal.aborted || res.headersSent) {
          res.destroy();
          return;
        }
        // A body already streamed upstream cannot be sent again.
        if (err.code && DROPPED.has(err.code) && REPEATABLE.has(request.method) && !hasBody && attempt < RETRIES) return send(attempt + 1);
        const error = failure(err);
        options.logger.warn('proxy error', { upstream: options.service, code: err.code, status: error.status });
        sendError(res, error, call.requestId);
      }
    };
    void send(0);
  };

  return { forward, close: () => pool.close() };
}
