import { type NextRequest, NextResponse } from 'next/server';
import { errorAnswer } from './lib/platform';
import { readSessionToken } from './lib/session-cookie';

/** Pages anyone may open; everything else needs a session (the API proxy answers 401 by itself). */
const PUBLIC_PAGES = [/^\/sign-in/, /^\/sign-up/, /^\/invitations\//, /^\/content\//];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A change must come from this app's own pages: the session cookie is SameSite=Lax, and the Origin check
 * also stops a same-site page on another port or subdomain. (NextAuth's own routes carry its CSRF token.)
 */
function fromOwnOrigin(req: NextRequest): boolean {
  const origin = req.headers.get('origin');
  const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host');
  if (!origin || !host || !URL.canParse(origin)) return false;
  return new URL(origin).host === host;
}

export async function proxy(req: NextRequest) {
  const { pathname, search } = req.nextUrl;
  if (pathname.startsWith('/api/')) {
    if (SAFE_METHODS.has(req.method) || pathname.startsWith('/api/auth/') || fromOwnOrigin(req)) return NextResponse.next();
    return errorAnswer(403, 'CSRF_REJECTED', 'Cross-origin request refused');
  }
  if (PUBLIC_PAGES.some((pattern) => pattern.test(pathname))) return NextResponse.next();
  if (await readSessionToken(req)) return NextResponse.next();
  const signIn = new URL('/sign-in', req.url);
  signIn.searchParams.set('callbackUrl', `${pathname}${search}`);
  return NextResponse.redirect(signIn);
}

export const config = {
  // Pages and API routes; Next's assets and files with an extension pass untouched.
  matcher: ['/((?!_next/|.*\\.[a-z0-9]+$).*)'],
};
