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

/**
 * Accepts a sane incoming `X-Request-Id` or makes one, echoes it, and runs the
 * rest of the request inside a context that loggers and clients read.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get(REQUEST_ID_HEADER);
    const id = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    runWithContext({ requestId: id }, next);
  };
}
