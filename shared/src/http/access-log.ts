import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger';
import { currentContext, type RequestContext } from '../request-context';

/**
 * Writes one `http` log line when `res` has finished: method, path, status, duration. `ip` is read by
 * the caller when the request starts: once the answer is out the request may have let go of its
 * socket (an upload the service answered early, cut off).
 */
export function logWhenFinished(logger: Logger, req: IncomingMessage, res: ServerResponse, ip: string | undefined): void {
  const started = performance.now();
  const context = currentContext();
  res.once('finish', () => writeAccessLine(logger, req, res.statusCode, ip, performance.now() - started, context));
}

/** The `http` log line of one finished request. */
export function writeAccessLine(
  logger: Logger,
  req: IncomingMessage,
  status: number,
  ip: string | undefined,
  durationMs: number,
  context: RequestContext | undefined,
): void {
  // Express rewrites `url` inside mounted routers and keeps the request's own as `originalUrl`.
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  logger.http('request', {
    requestId: context?.requestId,
    tenantId: context?.tenantId,
    method: req.method,
    path: query === -1 ? url : url.slice(0, query),
    // The client's address as TRUST_PROXY lets it be read (behind nginx: the real client).
    ip,
    status,
    durationMs: Math.round(durationMs * 100) / 100,
  });
}

/** One `http` log line per finished request: method, path, status, duration. */
export function accessLog(logger: Logger): RequestHandler {
  // Below the `http` level nothing would be written, so no request pays for a timer and a listener.
  if (!logger.isLevelEnabled('http')) return (_req, _res, next) => next();
  return (req, res, next) => {
    logWhenFinished(logger, req, res, req.ip);
    next();
  };
}
