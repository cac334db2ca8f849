import { CodexApiError, CodexNetworkError, retryAfterSeconds } from './errors.js';
import { OPERATIONS, type OperationFacts } from './generated/operations.js';

/** A signed-in user's tokens. The refresh token is spent by each refresh; the pair that replaces it is handed to `onSessionChange`. */
export interface Session {
  accessToken: string;
  refreshToken: string;
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Backoff before retry n is a random wait in [0, min(maxDelayMs, baseDelayMs × 2ⁿ)] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown with `retryAfterSeconds`. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 5_000, maxRetryAfterMs: 30_000 };

export interface TransportOptions {
  /** The gateway, `https://api.example.com`, or an app's own proxy to it (`https://app.example.com/api/cdx`). */
  baseUrl: string;
  /** The tenant app's API key (`cmk_…`); absent for platform admins. */
  apiKey?: string;
  session?: Session | null;
  /** Called with each new token pair (after a refresh), and with null when the session ended (refresh refused): store it. */
  onSessionChange?: (session: Session | null) => void | Promise<void>;
  retry?: Partial<RetryPolicy>;
  /** The fetch to send with (the global one by default). */
  fetch?: (request: Request) => Promise<Response>;
}

const RETRYABLE_STATUSES = new Set([429, 503]);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const UPDATE_METHODS = new Set(['PATCH', 'PUT', 'DELETE']);
/** Remembered ETags and cached bodies: bounded, the oldest forgotten first. */
const MAX_REMEMBERED = 1_000;

interface CachedAnswer {
  etag: string;
  body: string;
  headers: Headers;
}

/** A Map that forgets its oldest entries beyond `limit`. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    this.delete(key);
    super.set(key, value);
    if (this.size > this.limit) this.delete(this.keys().next().value as K);
    return this;
  }
}

const templates = OPERATIONS.map((operation) => ({
  operation,
  pattern: new RegExp(`^${operation.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** The documented operation a request is for (literal paths before templated ones, as the services route them). */
export function operationOf(method: string, pathname: string): OperationFacts | undefined {
  const candidates = templates.filter((entry) => entry.operation.method === method && entry.pattern.test(pathname));
  candidates.sort((a, b) => (a.operation.path.match(/\{/g)?.length ?? 0) - (b.operation.path.match(/\{/g)?.length ?? 0));
  return candidates[0]?.operation;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The SDK's fetch: everything between a typed call and the wire. It adds the
 * API key and the user's token; refreshes an expired token once for all the
 * requests that found it expired; gives creates an Idempotency-Key that every
 * retry reuses; retries 429 and 503 (after `Retry-After`) and lost
 * connections, but only where a second send cannot write twice; sends back the
 * ETag a record was read with as `If-Match`; and revalidates answers the
 * server marks `no-cache` (flags, entitlements) with `If-None-Match`. Error
 * answers are thrown as CodexApiError.
 */
export class Transport {
  private session: Session | null;
  private refreshing: Promise<Session | null> | undefined;
  private readonly retry: RetryPolicy;
  private readonly send: (request: Request) => Promise<Response>;
  private readonly etags = new BoundedMap<string, string>(MAX_REMEMBERED);
  private readonly cached = new BoundedMap<string, CachedAnswer>(MAX_REMEMBERED);
  /** A base URL's own path (an app's proxy to the platform, `/api/cdx`), ahead of the platform's paths. */
  private readonly basePath: string;

  constructor(private readonly options: TransportOptions) {
    this.basePath = new URL(options.baseUrl).pathname.replace(/\/$/, '');
    this.session = options.session ?? null;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.send = options.fetch ?? ((request) => fetch(request));
  }

  get currentSession(): Session | null {
    return this.session;
  }

  async setSession(session: Session | null): Promise<void> {
    this.session = session;
    await this.options.onSessionChange?.(session);
  }

  /** Forgets the ETags and cached answers (e.g. when another user signs in on this client). */
  forgetCache(): void {
    this.etags.clear();
    this.cached.clear();
  }

  readonly fetch = async (input: Request): Promise<Response> => {
    const url = new URL(input.url);
    const method = input.method.toUpperCase();
    const operation = operationOf(method, url.pathname.slice(this.basePath.length));
    const headers = new Headers(input.headers);
    if (this.options.apiKey && !headers.has('x-api-key')) headers.set('X-API-Key', this.options.apiKey);
    const sendsToken = (operation?.bearer ?? true) && !headers.has('authorization');
    if (operation?.idempotent && !headers.has('idempotency-key')) headers.set('Idempotency-Key', crypto.randomUUID());
    const remembered = this.etags.get(url.href);
    if (UPDATE_METHODS.has(method) && remembered && !headers.has('if-match')) headers.set('If-Match', remembered);
    const cached = method === 'GET' ? this.cached.get(url.href) : undefined;
    if (cached && !headers.has('if-none-match')) {
      headers.set('If-None-Match', cached.etag);
      // fetch adds `Cache-Control: no-cache` to a conditional request that has none, and a server must then
      // answer in full (Express does): max-age=0 asks for the same revalidation and still allows the 304.
      if (!headers.has('cache-control')) headers.set('Cache-Control', 'max-age=0');
    }
    const request = new Request(input, { headers });
    const retryable = SAFE_METHODS.has(method) || headers.has('idempotency-key');

    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const token = sendsToken ? this.session?.accessToken : undefined;
      const outgoing = request.clone();
      if (token) outgoing.headers.set('Authorization', `Bearer ${token}`);
      let response: Response;
      try {
        response = await this.send(outgoing);
      } catch (error) {
        if (retryable && attempt < this.retry.attempts) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw new CodexNetworkError(`${method} ${url.pathname}: ${(error as Error).message}`, { cause: error });
      }

      if (response.status === 401 && token && !refreshed) {
        refreshed = true;
        if (await this.refreshAfter(token)) continue;
      }
      if (RETRYABLE_STATUSES.has(response.status) && retryable && attempt < this.retry.attempts) {
        const wait = this.waitBeforeRetry(response, attempt);
        if (wait !== undefined) {
          await response.body?.cancel();
          await sleep(wait);
          continue;
        }
      }
      if (response.status === 304) {
        if (!cached) return response; // the caller's own If-None-Match: theirs to read
        await response.body?.cancel();
        return new Response(cached.body, { status: 200, headers: cached.headers });
      }
      if (!response.ok) throw await CodexApiError.fromResponse(response);
      return this.remember(method, url, response);
    }
  };

  /** Keeps the ETag of what was read or written (for If-Match), and the body of `no-cache` answers (for If-None-Match). */
  private async remember(method: string, url: URL, response: Response): Promise<Response> {
    const etag = response.headers.get('etag');
    if (!etag) return response;
    const location = response.headers.get('location');
    const recordUrl = response.status === 201 && location ? new URL(location, url).href : url.href;
    if (/^(W\/)?"\d+"$/.test(etag)) this.etags.set(recordUrl, etag);
    if (method === 'GET' && /\bno-cache\b/.test(response.headers.get('cache-control') ?? '')) {
      const body = await response.text();
      this.cached.set(url.href, { etag, body, headers: new Headers(response.headers) });
      return new Response(body, { status: response.status, headers: response.headers });
    }
    return response;
  }

  /** How long to wait before retry `attempt`, or undefined when the server asks for longer than we wait. */
  private waitBeforeRetry(response: Response, attempt: number): number | undefined {
    const asked = retryAfterSeconds(response.headers.get('retry-after'));
    if (asked === undefined) return this.backoff(attempt);
    const askedMs = asked * 1000;
    if (askedMs > this.retry.maxRetryAfterMs) return undefined;
    // Jitter on top, so clients told the same second do not all come back in it.
    return askedMs + Math.random() * this.retry.baseDelayMs;
  }

  private backoff(attempt: number): number {
    return Math.random() * Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
  }

  /**
   * A new access token after `rejected` was refused: one refresh however many
   * requests ask at once (a refresh token is spent by its use). A session
   * already renewed by another request is simply used.
   */
  private async refreshAfter(rejected: string): Promise<boolean> {
    if (this.session && this.session.accessToken !== rejected) return true;
    const refreshToken = this.session?.refreshToken;
    if (!refreshToken) return false;
    this.refreshing ??= this.exchange(refreshToken).finally(() => {
      this.refreshing = undefined;
    });
    return (await this.refreshing) !== null;
  }

  private async exchange(refreshToken: string): Promise<Session | null> {
    const headers = new Headers({ 'Content-Type': 'application/json' });
    if (this.options.apiKey) headers.set('X-API-Key', this.options.apiKey);
    const url = new URL(`${this.basePath}/api/v1/auth/refresh`, this.options.baseUrl);
    const response = await this.send(new Request(url, { method: 'POST', headers, body: JSON.stringify({ refreshToken }) }));
    if (response.status === 401 || response.status === 400) {
      await response.body?.cancel();
      await this.setSession(null);
      return null;
    }
    if (!response.ok) throw await CodexApiError.fromResponse(response);
    const tokens = (await response.json()) as Session;
    const session = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
    await this.setSession(session);
    return session;
  }
}
