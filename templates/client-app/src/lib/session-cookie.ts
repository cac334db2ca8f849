import 'server-only';
import { encode, getToken, type JWT } from 'next-auth/jwt';
import type { NextRequest, NextResponse } from 'next/server';
import { config } from './config';

const MAX_AGE = 30 * 24 * 60 * 60;
const cookieName = () => (config.secureCookies ? '__Secure-next-auth.session-token' : 'next-auth.session-token');

/** NextAuth's JWT from the request's (encrypted) session cookie: the platform's tokens live in it. */
export function readSessionToken(req: NextRequest): Promise<JWT | null> {
  return getToken({ req, secret: config.secret, secureCookie: config.secureCookies });
}

/** Writes `token` back into the session cookie, as NextAuth itself would (after the platform rotated the tokens). */
/** Ends the session in the browser (the platform refused its refresh token). */
export function clearSessionToken(res: NextResponse): void {
  res.cookies.delete(cookieName());
}

export async function writeSessionToken(res: NextResponse, token: JWT): Promise<void> {
  res.cookies.set(cookieName(), await encode({ token, secret: config.secret, maxAge: MAX_AGE }), {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: config.secureCookies,
    maxAge: MAX_AGE,
  });
}
