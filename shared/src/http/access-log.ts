import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger';
import { currentContext } from '../request-context';

/**
 * Writes one `http` log line when `res` has finished: method, path, status, duration. `ip` is read by
 * the caller when the request starts: once the answer is out the request may have let go of its
 * socket (an upload the service answered early, cut off).
 */
export function logWhenFinished(logger: Logger, req: IncomingMessage, res: ServerResponse, ip: string | undefined): void {
  const started = process.hrtime.bigint();
  const context = currentContext();
  res.once('finish', () => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    logger.http('request', {
      requestId: context?.requestId,
      tenantId: context?.tenantId,
      method: req.method,
      // Express rewrites `url` inside mounted routers and keeps the request's own as `originalUrl`.
      path: ((req as { originalUrl?: string }).originalUrl ?? req.url ?? '').split('?')[0],
      // The client's address as TRUST_PROXY lets it be read (behind nginx: the real client).
      ip,
      status: res.statusCode,
      durationMs: Math.round(durationMs * 100) / 100,
    });
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
