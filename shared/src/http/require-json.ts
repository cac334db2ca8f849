import type { RequestHandler } from 'express';
import { AppError, ErrorCode } from '../errors';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Rejects a request body that is not JSON with 415 before any parser sees it.
 * A write without a body (e.g. an action endpoint) is allowed, and so is any
 * body of a route that reads its raw stream itself (`takesRawBody`, uploads).
 */
export function requireJsonBody(takesRawBody: (method: string, path: string) => boolean = () => false): RequestHandler {
  return (req, _res, next) => {
    if (METHODS_WITH_BODY.has(req.method) && hasBody(req.headers) && !req.is('application/json') && !takesRawBody(req.method, req.path)) {
      next(new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, 'Request body must be application/json'));
      return;
    }
    next();
  };
}
