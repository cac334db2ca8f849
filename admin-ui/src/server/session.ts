import type { NextRequest, NextResponse } from 'next/server';
import { callGatewayJson } from './gateway';

/** httpOnly, SameSite=Strict: no script reads them and no other site's page makes the browser send them. */
export const ACCESS_COOKIE = 'cdx_access';
export const REFRESH_COOKIE = 'cdx_refresh';

export interface Tokens {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  refreshToken: string;
}

/** The access cookie goes this long before the token does, so a request never carries one about to expire. */
const EXPIRY_MARGIN_S = 30;
/** As long as the platform keeps an admin's refresh token at most (its `adminRefreshHours` setting is 1–72). */
const REFRESH_COOKIE_MAX_AGE_S = 72 * 3600;

function secure(request: NextRequest): boolean {
  return (request.headers.get('x-forwarded-proto') ?? request.nextUrl.protocol.replace(':', '')) === 'https';
}

export function setSessionCookies(response: NextResponse, request: NextRequest, tokens: Tokens): void {
  const common = { httpOnly: true, sameSite: 'strict' as const, secure: secure(request), path: '/' };
  response.cookies.set(ACCESS_COOKIE, tokens.accessToken, { ...common, maxAge: Math.max(tokens.expiresIn - EXPIRY_MARGIN_S, 1) });
  response.cookies.set(REFRESH_COOKIE, tokens.refreshToken, { ...common, maxAge: REFRESH_COOKIE_MAX_AGE_S });
}

export function clearSessionCookies(response: NextResponse): void {
  response.cookies.delete(ACCESS_COOKIE);
  response.cookies.delete(REFRESH_COOKIE);
}

/**
 * Refresh tokens rotate on every use, and presenting a spent one revokes the whole sign-in. The browser
 * fires several requests at once with the same expired cookie, so each refresh token is spent once here:
 * concurrent callers share the call, and callers that arrive a little later (their request left before
 * the new cookie came back) get the same result, kept for a short while.
 */
const refreshes = new Map<string, Promise<Tokens | undefined>>();
const KEEP_RESULT_MS = 30_000;

export function refreshSession(refreshToken: string, from: Headers): Promise<Tokens | undefined> {
  let pending = refreshes.get(refreshToken);
  if (!pending) {
    pending = callGatewayJson<Tokens>('/api/v1/auth/admin/refresh', { method: 'POST', body: { refreshToken }, from }).then(({ status, body }) =>
      status === 200 ? body : undefined,
    );
    refreshes.set(refreshToken, pending);
    const forget = () => setTimeout(() => refreshes.delete(refreshToken), KEEP_RESULT_MS).unref?.();
    pending.then(forget, () => refreshes.delete(refreshToken));
  }
  return pending;
}
