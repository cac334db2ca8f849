import { EventEmitter } from 'node:events';
import http from 'node:http';
import axios, { type AxiosInstance, type Method } from 'axios';
import CircuitBreaker from 'opossum';
import type { z } from 'zod';
import { AppError, ErrorCode, isErrorCode, UpstreamError } from './errors';
import type { Logger } from './logger';
import { currentContext } from './request-context';
import type { Identity, ServiceTokenSigner } from './service-token';
import type { ServiceName } from './services';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Failure percentage over the rolling window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Minimum calls in the window before the breaker may open. */
  volumeThreshold: number;
  /** How long the breaker stays open before letting one probe through. */
  resetTimeoutMs: number;
  rollingCountTimeoutMs: number;
}

/** Buckets of the breaker's rolling window. */
const ROLLING_BUCKETS = 10;

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 10_000,
  rollingCountTimeoutMs: 10_000,
};

export interface ServiceRequest {
  method?: Method;
  path: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** The identity to act for; defaults to none (a service acting on its own behalf). */
  identity?: Omit<Identity, 'caller'>;
  headers?: Record<string, string>;
  /** Overrides the client's timeout (30 s) for a call known to be long. */
  timeoutMs?: number;
}

/** A request whose answer is used: it must be JSON of this shape (the callee's declared contract), else 502. */
export interface CheckedServiceRequest<T> extends ServiceRequest {
  answer: z.ZodType<T>;
}

export interface ServiceResponse<T> {
  status: number;
  data: T;
}

export interface ServiceClientOptions {
  caller: ServiceName;
  target: ServiceName;
  baseUrl: string;
  signer: ServiceTokenSigner;
  timeoutMs: number;
  logger: Logger;
  breaker?: Partial<BreakerOptions>;
}

/** An upstream 4xx: the call worked, the answer is "no". It does not count against the breaker. */
class UpstreamClientError extends AppError {}

interface StandardErrorBody {
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

function upstreamClientError(status: number, body: unknown): UpstreamClientError {
  const error = (body as StandardErrorBody | undefined)?.error;
  // Only our own codes pass through; anything else an upstream says is just an upstream error.
  const code = isErrorCode(error?.code) ? error.code : ErrorCode.UPSTREAM_ERROR;
  const message = typeof error?.message === 'string' ? error.message : `Upstream answered ${status}`;
  return new UpstreamClientError(code, status, message, error?.details);
}

/**
 * Calls one other service over REST: a service JWT for every call, the
 * request id passed on, a timeout, and a circuit breaker that fails fast
 * with 503 UPSTREAM_UNAVAILABLE while the upstream is down.
 */
export class ServiceClient {
  readonly target: ServiceName;
  private readonly http: AxiosInstance;
  private readonly breaker: CircuitBreaker<[ServiceRequest], ServiceResponse<unknown>>;
  private readonly options: ServiceClientOptions;
  private readonly rotation = new EventEmitter();
  private readonly rotationTimer: NodeJS.Timeout;

  constructor(options: ServiceClientOptions & { onStateChange?: (upstream: ServiceName, to: BreakerState) => void }) {
    this.options = options;
    this.target = options.target;
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      httpAgent: new http.Agent({ keepAlive: true }),
      validateStatus: () => true,
      // A service answers; it never sends us elsewhere (a redirect could point anywhere).
      maxRedirects: 0,
      // Answers are JSON; an upstream that sends more than this is misbehaving.
      maxContentLength: 50 * 1024 * 1024,
    });
    const breakerOptions = { ...DEFAULT_BREAKER_OPTIONS, ...options.breaker };
    // We rotate the breaker's rolling window ourselves, so that closing can start it afresh: calls refused
    // while open (and the failures that opened it) must not dilute the error rate after it closes, or a
    // flapping dependency gets many failing calls before the breaker opens again.
    this.rotation.setMaxListeners(0);
    this.rotationTimer = setInterval(() => this.rotation.emit('rotate'), Math.max(1, Math.floor(breakerOptions.rollingCountTimeoutMs / ROLLING_BUCKETS)));
    this.rotationTimer.unref();
    this.breaker = new CircuitBreaker((request: ServiceRequest) => this.send(request), {
      timeout: false,
      errorThresholdPercentage: breakerOptions.errorThresholdPercentage,
      volumeThreshold: breakerOptions.volumeThreshold,
      resetTimeout: breakerOptions.resetTimeoutMs,
      rollingCountTimeout: breakerOptions.rollingCountTimeoutMs,
      rollingCountBuckets: ROLLING_BUCKETS,
      rotateBucketController: this.rotation,
      errorFilter: (err: unknown) => err instanceof UpstreamClientError,
      name: options.target,
    });
    this.breaker.on('open', () => {
      options.logger.warn('circuit breaker opened', { upstream: options.target });
      options.onStateChange?.(options.target, 'open');
    });
    this.breaker.on('halfOpen', () => {
      options.logger.info('circuit breaker half-open', { upstream: options.target });
      options.onStateChange?.(options.target, 'half-open');
    });
    this.breaker.on('close', () => {
      for (let bucket = 0; bucket < ROLLING_BUCKETS; bucket += 1) this.rotation.emit('rotate');
      options.logger.info('circuit breaker closed', { upstream: options.target });
      options.onStateChange?.(options.target, 'closed');
    });
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    if (this.breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  /**
   * Sends the request; resolves with a 2xx answer, rejects with an AppError
   * otherwise. With `answer`, the body must be JSON that the schema accepts
   * (502 UPSTREAM_ERROR if not), and comes back parsed by it.
   */
  async request<T>(request: CheckedServiceRequest<T>): Promise<ServiceResponse<T>>;
  async request(request: ServiceRequest): Promise<ServiceResponse<unknown>>;
  async request<T>(request: ServiceRequest & { answer?: z.ZodType<T> }): Promise<ServiceResponse<unknown>> {
    try {
      return await this.breaker.fire(request);
    } catch (err) {
      throw this.toAppError(err);
    }
  }

  /** Stops the breaker's timers; call on shutdown. */
  shutdown(): void {
    clearInterval(this.rotationTimer);
    this.breaker.shutdown();
  }

  private async send(request: ServiceRequest): Promise<ServiceResponse<unknown>> {
    const context = currentContext();
    const response = await this.http.request({
      method: request.method ?? 'GET',
      url: request.path,
      data: request.body,
      params: request.query,
      ...(request.timeoutMs ? { timeout: request.timeoutMs } : {}),
      headers: {
        ...request.headers,
        Authorization: `Bearer ${this.options.signer.sign(this.target, request.identity)}`,
        ...(context ? { 'X-Request-Id': context.requestId } : {}),
      },
    });
    if (response.status >= 500) {
      throw new UpstreamError(ErrorCode.UPSTREAM_ERROR, 502, `${this.target} answered ${response.status}`);
    }
    if (response.status >= 400) throw upstreamClientError(response.status, response.data);
    if (response.status >= 300) throw new UpstreamError(ErrorCode.UPSTREAM_ERROR, 502, `${this.target} answered a redirect`);
    const { answer } = request as ServiceRequest & { answer?: z.ZodType };
    if (!answer) return { status: response.status, data: response.data };
    const isJson = /^application\/json\b/i.test(String(response.headers['content-type'] ?? ''));
    const parsed = isJson ? answer.safeParse(response.data) : undefined;
    if (!parsed?.success) throw new UpstreamError(ErrorCode.UPSTREAM_ERROR, 502, `${this.target} answered something other than its contract`);
    return { status: response.status, data: parsed.data };
  }

  private toAppError(err: unknown): AppError {
    if (err instanceof AppError) return err;
    const code = (err as { code?: string } | undefined)?.code;
    if (code === 'EOPENBREAKER') {
      return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 503, `${this.target} service is unavailable`, err);
    }
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, 504, `${this.target} service did not answer in time`, err);
    }
    return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 503, `${this.target} service is unavailable`, err);
  }
}

/** One ServiceClient per upstream, created on first use, so each upstream has exactly one breaker. */
export class ServiceClients {
  private readonly clients = new Map<ServiceName, ServiceClient>();
  private readonly stateListeners: Array<(upstream: ServiceName, to: BreakerState) => void> = [];

  constructor(
    private readonly options: Omit<ServiceClientOptions, 'target' | 'baseUrl'> & {
      serviceUrls: Record<ServiceName, string>;
    },
  ) {}

  get(target: ServiceName): ServiceClient {
    let client = this.clients.get(target);
    if (!client) {
      client = new ServiceClient({
        ...this.options,
        target,
        baseUrl: this.options.serviceUrls[target],
        onStateChange: (upstream, to) => {
          for (const listener of this.stateListeners) listener(upstream, to);
        },
      });
      this.clients.set(target, client);
    }
    return client;
  }

  /** Called on every breaker state change (metrics, the admin service's alerts). */
  onStateChange(listener: (upstream: ServiceName, to: BreakerState) => void): void {
    this.stateListeners.push(listener);
  }

  /** Breaker state of every upstream called so far, for /health. */
  breakerStates(): Record<string, BreakerState> {
    return Object.fromEntries([...this.clients].map(([name, client]) => [name, client.state]));
  }

  shutdown(): void {
    for (const client of this.clients.values()) client.shutdown();
  }
}
