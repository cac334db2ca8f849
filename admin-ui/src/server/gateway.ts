import { NextResponse } from 'next/server';

/**
 * The console's one way to the platform: every call to the gateway goes through here, on the server.
 * The browser never sees an access or refresh token; they live in httpOnly cookies (see session.ts).
 */

/** The gateway as this server reaches it (loopback on one box, the internal address behind nginx). */
export const GATEWAY_URL = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
/** The API as browsers reach it (behind nginx, the public host), for links to its docs. */
export const PUBLIC_API_URL = (process.env.PUBLIC_API_URL ?? GATEWAY_URL).replace(/\/+$/, '');

/** As ServiceClient's: a call the gateway does not answer within this is given up. */
const TIMEOUT_MS = 30_000;

/** The standard error body of the platform, which the console also answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId?: string };
}

export function errorBody(code: string, message: string, requestId?: string): ErrorBody {
  return { error: { code, message, ...(requestId ? { requestId } : {}) } };
}

/** Raised when the gateway cannot be reached at all (refused, reset, timed out), as opposed to an answer with an error. */
export class GatewayUnreachableError extends Error {
  constructor(cause: unknown) {
    super('The gateway did not answer', { cause });
  }
}

export interface GatewayCall {
  method?: string;
  /** A JSON value, or a raw body (an upload) passed as it is. */
  body?: unknown;
  accessToken?: string;
  /** The browser's request, for its id and address. */
  from?: Headers;
  /** Extra headers to pass on (the browser's content type for an upload, Idempotency-Key, If-Match…). */
  headers?: Record<string, string>;
  /** Less than the 30 s default where a late answer is worth nothing (the dashboard's 5 s refresh). */
  timeoutMs?: number;
}

/** Headers of the browser's request that mean something to the platform, passed on as they are. */
const PASSED_ON = ['x-request-id', 'idempotency-key', 'if-match', 'if-none-match', 'accept'];

export async function callGateway(path: string, call: GatewayCall = {}): Promise<Response> {
  const headers = new Headers(call.headers);
  for (const name of PASSED_ON) {
    const value = call.from?.get(name);
    if (value && !headers.has(name)) headers.set(name, value);
  }
  // The gateway throttles sign-ins per address: it must see the browser's, not this server's.
  const forwardedFor = call.from?.get('x-forwarded-for');
  if (forwardedFor) headers.set('x-forwarded-for', forwardedFor);
  if (call.accessToken) headers.set('authorization', `Bearer ${call.accessToken}`);
  let body: BodyInit | undefined;
  if (call.body instanceof ReadableStream || call.body instanceof ArrayBuffer || call.body instanceof Uint8Array) {
    body = call.body as BodyInit;
  } else if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers.set('content-type', 'application/json');
  }
  try {
    return await fetch(`${GATEWAY_URL}${path}`, {
      method: call.method ?? 'GET',
      headers,
      body,
      cache: 'no-store',
      signal: AbortSignal.timeout(call.timeoutMs ?? TIMEOUT_MS),
      // A streamed upload (a tenant archive) must say it is one.
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (err) {
    throw new GatewayUnreachableError(err);
  }
}

/** The console's own answer when the gateway cannot be reached (502 GATEWAY_UNREACHABLE); anything else is rethrown. */
export function answerForUnreachable(err: unknown): NextResponse {
  if (err instanceof GatewayUnreachableError)
    return NextResponse.json(errorBody('GATEWAY_UNREACHABLE', 'The platform’s gateway does not answer'), { status: 502 });
  throw err;
}

/** A JSON call whose answer is read whole: `{ status, body }`, body null when there is none. */
export async function callGatewayJson<T = unknown>(path: string, call: GatewayCall = {}): Promise<{ status: number; body: T }> {
  const response = await callGateway(path, call);
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = errorBody('BAD_GATEWAY', `The gateway answered ${response.status} with a body that is not JSON`);
    }
  }
  return { status: response.status, body: body as T };
}
