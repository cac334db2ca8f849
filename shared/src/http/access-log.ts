import type { RequestHandler } from 'express';
import type { Logger } from '../logger';
import { currentContext } from '../request-context';

/** One `http` log line per finished request: method, path, status, duration. */
export function accessLog(logger: Logger): RequestHandler {
  // Below the `http` level nothing would be written, so no request pays for a timer and a listener.
  if (!logger.isLevelEnabled('http')) return (_req, _res, next) => next();
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const context = currentContext();
    // Read now: once the answer is out the request may have let go of its socket (an upload the
    // service answered early, cut off), and Express reads the address from it.
    const ip = req.ip;
    res.once('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.http('request', {
        requestId: context?.requestId,
        tenantId: context?.tenantId,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        // The client's address as TRUST_PROXY lets Express read it (behind nginx: the real client).
        ip,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 100) / 100,
      });
    });
    next();
  };
}
