import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, type Options, rateLimit, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { RateLimitedError } from '../errors';
import type { Logger } from '../logger';

/** The part of a node-redis client a shared limiter needs. */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface RateLimitOptions {
  /** Distinguishes this limiter's counters from others' in a shared store. */
  name: string;
  windowMs: number;
  /** Requests per window, or per request (e.g. from the tenant's plan). */
  limit: number | ((req: Request, res: Response) => number);
  /** The counter key; defaults to the client IP (IPv6 grouped by /56). */
  key?: (req: Request) => string;
  /** Count only failed requests (status ≥ 400), e.g. login attempts. */
  onlyFailures?: boolean;
  /** When set, counters live in Redis so every instance shares them; otherwise in this process. */
  redis?: SharedCounters;
}

/** How long a Redis command may take before the limiter counts in process instead. */
const REDIS_COMMAND_TIMEOUT_MS = 200;

/**
 * Redis-backed counters shared by every instance, and whether Redis answers.
 * A Redis outage degrades limits to per-instance counting; it never stops or
 * slows a request. The change is logged once each way and shown in /health
 * and metrics.
 */
export class SharedCounters {
  private down = false;

  constructor(
    readonly client: RedisCommandClient,
    readonly prefix: string,
    private readonly logger?: Logger,
  ) {}

  /** Whether the last command failed (limits count in each process meanwhile). */
  get degraded(): boolean {
    return this.down;
  }

  /**
   * One command, failing after REDIS_COMMAND_TIMEOUT_MS. A script load that
   * fails answers the script's SHA-1 (what Redis would answer), so a limiter
   * made while Redis is down starts counting in process and reloads the
   * script itself once Redis is back (its EVALSHA then meets NOSCRIPT).
   */
  async send(args: string[]): Promise<RedisReply> {
    try {
      return await this.command(args);
    } catch (err) {
      if (args[0]?.toUpperCase() === 'SCRIPT' && args[1]?.toUpperCase() === 'LOAD' && args[2]) return createHash('sha1').update(args[2]).digest('hex');
      throw err;
    }
  }

  private async command(args: string[]): Promise<RedisReply> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.client.sendCommand(args),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`redis did not answer within ${REDIS_COMMAND_TIMEOUT_MS} ms`)), REDIS_COMMAND_TIMEOUT_MS);
        }),
      ]);
      if (this.down) {
        this.down = false;
        this.logger?.info('redis is back: rate limits are shared again');
      }
      return reply as RedisReply;
    } catch (err) {
      if (!this.down) {
        this.down = true;
        this.logger?.warn('redis unavailable: rate limits count per instance until it returns', { err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Counts in Redis while it answers, in this process while it does not. */
class FallbackStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly memory = new MemoryStore();

  constructor(private readonly shared: RedisStore) {
    this.prefix = shared.prefix;
  }

  init(options: Options): void {
    this.memory.init(options);
    this.shared.init(options);
  }

  async increment(key: string) {
    try {
      return await this.shared.increment(key);
    } catch {
      return this.memory.increment(key);
    }
  }

  async decrement(key: string): Promise<void> {
    await Promise.all([this.shared.decrement(key).catch(() => undefined), this.memory.decrement(key)]);
  }

  async resetKey(key: string): Promise<void> {
    await Promise.all([this.shared.resetKey(key).catch(() => undefined), this.memory.resetKey(key)]);
  }
}

/** A limiter's counters in Redis, shared by every instance, while Redis answers. */
function sharedStore(name: string, shared: SharedCounters): Store {
  return new FallbackStore(new RedisStore({ prefix: `${shared.prefix}:rl:${name}:`, sendCommand: (...args: string[]) => shared.send(args) }));
}

/**
 * A fixed-window limit called as a function rather than as middleware, for a
 * hot path outside Express (the gateway's proxied requests): the same stores
 * (shared through Redis when given), counting, draft-7 `RateLimit` headers and
 * 429 as createRateLimit, without a middleware chain per request.
 */
export class WindowLimit {
  private readonly store: Store;
  private readonly windowSeconds: number;

  constructor(options: Pick<RateLimitOptions, 'name' | 'windowMs' | 'redis'>) {
    this.store = options.redis ? sharedStore(options.name, options.redis) : new MemoryStore();
    this.store.init?.({ windowMs: options.windowMs } as Options);
    this.windowSeconds = Math.ceil(options.windowMs / 1000);
  }

  /** Counts one request of `key` and sets the `RateLimit` headers on `res`; past `limit` it throws 429 RATE_LIMITED. */
  async take(key: string, limit: number, res: ServerResponse): Promise<void> {
    const { totalHits, resetTime } = await this.store.increment(key);
    const resetSeconds = resetTime ? Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : this.windowSeconds;
    res.setHeader('RateLimit-Policy', `${limit};w=${this.windowSeconds}`);
    res.setHeader('RateLimit', `limit=${limit}, remaining=${Math.max(limit - totalHits, 0)}, reset=${resetSeconds}`);
    if (totalHits > limit) throw new RateLimitedError(resetSeconds);
  }
}

/**
 * express-rate-limit with our conventions: `RateLimit-*` headers (draft 7),
 * 429 `RATE_LIMITED` in the standard body with `Retry-After`.
 */
export function createRateLimit(options: RateLimitOptions): RequestHandler {
  const shared = options.redis;
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: options.onlyFailures ?? false,
    keyGenerator: options.key ?? ((req) => ipKeyGenerator(req.ip ?? 'unknown')),
    store: shared ? sharedStore(options.name, shared) : undefined,
    handler: (req, _res, next) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfterSeconds = resetTime ? (resetTime.getTime() - Date.now()) / 1000 : options.windowMs / 1000;
      next(new RateLimitedError(retryAfterSeconds));
    },
  });
}

export { ipKeyGenerator };
