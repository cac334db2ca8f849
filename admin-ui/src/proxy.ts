import { type NextRequest, NextResponse } from 'next/server';
import { ACCESS_COOKIE, REFRESH_COOKIE, clearSessionCookies, refreshSession, setSessionCookies } from './server/session';
import { errorBody } from './server/gateway';

/** Pages and routes open without a session: the sign-in itself. */
const PUBLIC = ['/sign-in', '/api/session'];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function isPublic(path: string): boolean {
  return PUBLIC.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * A change must come from the console's own pages. SameSite=Strict already keeps other sites' requests
 * cookie-less; the Origin check also stops a same-site page on another port or subdomain.
 */
function fromOwnOrigin(request: NextRequest): boolean {
  const origin = request.headers.get('origin');
  if (!origin) return false;
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function signInAgain(request: NextRequest, code: string, message: string): NextResponse {
  const path = request.nextUrl.pathname;
  let response: NextResponse;
  if (path.startsWith('/api/')) {
    response = NextResponse.json(errorBody(code, message), { status: 401 });
  } else {
    const target = request.nextUrl.clone();
    target.pathname = '/sign-in';
    target.search = '';
    if (path !== '/') target.searchParams.set('next', `${path}${request.nextUrl.search}`);
    response = NextResponse.redirect(target);
  }
  clearSessionCookies(response);
  return response;
}

/**
 * Before every page and API route: changes must come from the console's own origin, and a session whose
 * access token has expired is refreshed here, once, so pages and routes behind always see a current one.
 */
export async function proxy(request: NextRequest): Promise<NextResponse> {
  const path = request.nextUrl.pathname;
  if (!SAFE_METHODS.has(request.method) && !fromOwnOrigin(request)) {
    return NextResponse.json(errorBody('CSRF_REJECTED', 'Changes are accepted from the console’s own pages only'), { status: 403 });
  }
  if (isPublic(path) || request.cookies.has(ACCESS_COOKIE)) return NextResponse.next();

  const refreshToken = request.cookies.get(REFRESH_COOKIE)?.value;
  if (!refreshToken) return signInAgain(request, 'UNAUTHENTICATED', 'Sign in to continue');
  let tokens: Awaited<ReturnType<typeof refreshSession>>;
  try {
    tokens = await refreshSession(refreshToken, request.headers);
  } catch {
    // The gateway is down: the page still renders and says so; its API calls answer 502.
    return NextResponse.next();
  }
  if (!tokens) return signInAgain(request, 'SESSION_EXPIRED', 'Your session has ended; sign in again');
  // The new access token goes to the route or page behind through the request's own cookie header…
  request.cookies.set(ACCESS_COOKIE, tokens.accessToken);
  request.cookies.set(REFRESH_COOKIE, tokens.refreshToken);
  const response = NextResponse.next({ request: { headers: request.headers } });
  // …and to the browser for its next requests.
  setSessionCookies(response, request, tokens);
  return response;
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
