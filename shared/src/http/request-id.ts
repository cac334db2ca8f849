import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { runWithContext } from '../request-context';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Incoming ids are accepted only when short and plain, so they are safe to log and forward. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the request-id middleware for every request. */
    id: string;
  }
}

/** The request's own id when it sent a sane one, else a new one. */
export function acceptRequestId(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Accepts a sane incoming `X-Request-Id` or makes one, echoes it, and runs the
 * rest of the request inside a context that loggers and clients read.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const id = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
    req.id = id;
    res.setHeader('X-Request-Id', id);
    runWithContext({ requestId: id, client: req }, next);
  };
}
