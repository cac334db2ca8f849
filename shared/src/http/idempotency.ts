import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { SecretBox } from '../crypto/secret-box';
import type { Queryable } from '../db/pool';
import { ErrorCode, AppError, ConflictError, ValidationError } from '../errors';
import type { Logger } from '../logger';

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{8,255}$/;

/** Marks the handler `idempotent()` makes, so the route's OpenAPI operation documents the header. */
export const HONOURS_IDEMPOTENCY_KEY = Symbol('honoursIdempotencyKey');

/** Whether a route's handler is `idempotent()`'s. */
export const honoursIdempotencyKey = (handler: unknown): boolean =>
  typeof handler === 'function' && (handler as unknown as Record<symbol, unknown>)[HONOURS_IDEMPOTENCY_KEY] === true;
const KEEP_FOR_MS = 24 * 60 * 60 * 1000;
/** A first request still "running" after this long died with its process; a retry may take over. */
const ABANDONED_AFTER_MS = 5 * 60 * 1000;

export interface IdempotencyOptions {
  db: Queryable;
  secrets: SecretBox;
  logger: Logger;
}

interface StoredRow {
  request_hash: string;
  state: 'running' | 'done';
  response_status: number | null;
  response_body: string | null;
  expires_at: Date;
  updated_at: Date;
}

/**
 * Whose keys these are: one user of a tenant (or the tenant's API key alone,
 * for sign-up), or one admin. Another user of the same tenant never sees the
 * first user's stored answer.
 */
function scopeOf(req: Request): string {
  const identity = req.identity;
  if (identity?.tenantId) return `tenant:${identity.tenantId}:${identity.userId ?? 'key'}`;
  if (identity?.adminId) return `admin:${identity.adminId}`;
  return 'anonymous';
}

function routeOf(req: Request): string {
  return `${req.method} ${req.baseUrl}${String(req.route?.path ?? req.path)}`;
}

/**
 * `Idempotency-Key` for create routes: the first response (status and body)
 * is kept for 24 h and replayed for the same key and body, scoped to the
 * caller (user of a tenant, or admin) and route. The same key with another
 * body → 422; while the first is still running → 409. Failures (5xx) are not
 * kept, on purpose: a 5xx means the write did not happen (or its outcome is
 * unknown to us, as with a lost database), so the client's retry with the
 * same key must run again rather than replay a failure. Without the header
 * the route behaves as usual.
 */
export function idempotent(options: IdempotencyOptions): RequestHandler {
  const handler: RequestHandler = async (req, res, next) => {
    const key = req.get('idempotency-key');
    if (key === undefined) {
      next();
      return;
    }
    if (!IDEMPOTENCY_KEY_PATTERN.test(key))
      throw new ValidationError('Idempotency-Key must be 8-255 characters of A-Z a-z 0-9 . _ : -', [{ path: 'headers.idempotency-key', message: 'invalid' }]);
    const scope = scopeOf(req);
    const route = routeOf(req);
    const requestHash = createHash('sha256')
      .update(JSON.stringify(req.body ?? null))
      .digest('hex');

    const claimed = await options.db.query(
      `INSERT INTO idempotency_keys (scope, route, key, request_hash, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (scope, route, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, state = 'running',
         response_status = NULL, response_body = NULL, expires_at = EXCLUDED.expires_at
       WHERE idempotency_keys.expires_at < now()
          OR (idempotency_keys.state = 'running' AND idempotency_keys.updated_at < now() - make_interval(secs => $6))
       RETURNING 1`,
      [scope, route, key, requestHash, new Date(Date.now() + KEEP_FOR_MS), ABANDONED_AFTER_MS / 1000],
    );
    if (claimed.rowCount === 0) {
      const { rows } = await options.db.query<StoredRow>(
        'SELECT request_hash, state, response_status, response_body, expires_at, updated_at FROM idempotency_keys WHERE scope = $1 AND route = $2 AND key = $3',
        [scope, route, key],
      );
      const stored = rows[0];
      if (!stored) throw new ConflictError('Idempotency-Key is being reused right now; retry', undefined, ErrorCode.IDEMPOTENCY_IN_PROGRESS);
      if (stored.request_hash !== requestHash) {
        throw new AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED, 422, 'This Idempotency-Key was used with a different request body');
      }
      if (stored.state === 'running')
        throw new ConflictError('The first request with this Idempotency-Key is still running', undefined, ErrorCode.IDEMPOTENCY_IN_PROGRESS);
      res.set('Idempotent-Replayed', 'true').status(stored.response_status!);
      if (stored.response_body === null) res.end();
      else res.type('application/json').send(options.secrets.open(stored.response_body));
      return;
    }

    // Record the answer before it leaves, so a retry arriving right after it is a replay, not a 409.
    // Every response (res.send, res.json, the error middleware, a bare 204) ends in res.end.
    const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
    let recorded = false;
    res.end = ((...args: unknown[]) => {
      if (recorded) return end(...args);
      recorded = true;
      const [chunk] = args;
      const body = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
      const settle =
        res.statusCode >= 500
          ? options.db.query('DELETE FROM idempotency_keys WHERE scope = $1 AND route = $2 AND key = $3', [scope, route, key])
          : options.db.query(
              `UPDATE idempotency_keys SET state = 'done', response_status = $4, response_body = $5 WHERE scope = $1 AND route = $2 AND key = $3`,
              [scope, route, key, res.statusCode, body === undefined || body === '' ? null : options.secrets.seal(body)],
            );
      settle.then(
        () => end(...args),
        (err: unknown) => {
          options.logger.warn('could not record idempotent response', { err });
          end(...args);
        },
      );
      return res;
    }) as typeof res.end;
    next();
  };
  return Object.assign(handler, { [HONOURS_IDEMPOTENCY_KEY]: true });
}
