import type { Request, RequestHandler } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { RateLimitedError } from '../errors';

/** The part of a node-redis client a shared limiter needs. */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface RateLimitOptions {
  /** Distinguishes this limiter's counters from others' in a shared store. */
  name: string;
  windowMs: number;
  limit: number;
  /** The counter key; defaults to the client IP (IPv6 grouped by /56). */
  key?: (req: Request) => string;
  /** Count only failed requests (status ≥ 400), e.g. login attempts. */
  onlyFailures?: boolean;
  /** When set, counters live in Redis so every instance shares them; otherwise in this process. */
  redis?: SharedCounters;
}

/** A Redis client and the namespace this install's keys live under. */
export interface SharedCounters {
  client: RedisCommandClient;
  prefix: string;
}

/**
 * express-rate-limit with our conventions: `RateLimit-*` headers (draft 7),
 * 429 `RATE_LIMITED` in the standard body with `Retry-After`.
 */
export function createRateLimit(options: RateLimitOptions): RequestHandler {
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: options.onlyFailures ?? false,
    keyGenerator: options.key ?? ((req) => ipKeyGenerator(req.ip ?? 'unknown')),
    store: options.redis
      ? new RedisStore({
          prefix: `${options.redis.prefix}:rl:${options.name}:`,
          sendCommand: (...args: string[]) => options.redis!.client.sendCommand(args) as Promise<RedisReply>,
        })
      : undefined,
    handler: (req, _res, next) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfterSeconds = resetTime ? (resetTime.getTime() - Date.now()) / 1000 : options.windowMs / 1000;
      next(new RateLimitedError(retryAfterSeconds));
    },
  });
}

export { ipKeyGenerator };
