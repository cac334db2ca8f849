import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, ErrorCode, NotFoundError } from '../errors';
import type { Logger } from '../logger';

/** body-parser and raw-body report their failures through `type`; map them to our codes. */
function fromBodyParser(err: { type?: string; status?: number; limit?: number }): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError(ErrorCode.INVALID_JSON, 400, 'Request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 413, 'Request body is too large', err.limit ? { limitBytes: err.limit } : undefined);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, 'Unsupported request body encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError(ErrorCode.VALIDATION_FAILED, 400, 'Request body could not be read');
    default:
      return undefined;
  }
}

/**
 * Any thrown value → an AppError we can answer with, or undefined when it is a
 * bug. Database errors arrive translated already (at the data-access edge).
 */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (typeof err === 'object' && err !== null) return fromBodyParser(err as { type?: string });
  return undefined;
}

/**
 * Answers a thrown value in the standard body: an AppError as itself, a bug
 * (anything else) logged with its stack and answered with a bare 500.
 */
export function answerError(logger: Logger, res: ServerResponse, err: unknown, requestId: string, request: { method?: string; path?: string }): void {
  const appError = toAppError(err);
  if (!appError) {
    logger.error('unhandled error', { err, method: request.method, path: request.path });
  } else if (appError.status >= 500) {
    logger.warn(appError.message, { code: appError.code, status: appError.status, cause: String(appError.cause ?? '') });
  }
  sendError(res, appError ?? new AppError(ErrorCode.INTERNAL, 500, 'Internal server error'), requestId);
}

/** The one error middleware: answers `{ error: { code, message, details?, requestId } }` (see answerError). */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    answerError(logger, res, err, req.id, { method: req.method, path: req.originalUrl.split('?')[0] });
  };
}

/** The standard error body, `{ error: { code, message, details?, requestId } }`. */
export function errorBody(error: AppError, requestId: string): { error: Record<string, unknown> } {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      requestId,
    },
  };
}

/** Writes the standard error body on a plain Node response (also used where Express is not in charge, e.g. the proxy). */
export function sendError(res: ServerResponse, error: AppError, requestId: string): void {
  const body = JSON.stringify(errorBody(error, requestId));
  res.writeHead(error.status, {
    ...error.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Final handler for requests no route took: 405 with `Allow` when the path is
 * served with other methods (`methodsAt`), else 404.
 */
export function notFoundHandler(methodsAt: (path: string) => string[] = () => []): RequestHandler {
  return (req, _res, next) => next(routeMiss(req.method, req.path, methodsAt(req.path)));
}

/** 405 METHOD_NOT_ALLOWED naming the allowed methods, or 404 when the path has none. */
export function routeMiss(method: string, path: string, allowed: string[]): AppError {
  if (allowed.length === 0) return new NotFoundError(`No route for ${method} ${path}`);
  const allow = [...new Set(allowed)].join(', ');
  return new AppError(ErrorCode.METHOD_NOT_ALLOWED, 405, `${method} is not allowed here; use ${allow}`, undefined, { headers: { Allow: allow } });
}
