import { type NextRequest, NextResponse } from 'next/server';
import { REFRESH_COOKIE, clearSessionCookies } from '@/server/session';
import { callGateway } from '@/server/gateway';
import { signInStep } from '@/server/sign-in';

/** Sign-in, first step: email and password. Answers the admin, or the platform's MFA_REQUIRED / MFA_ENROLMENT_REQUIRED. */
export function POST(request: NextRequest): Promise<NextResponse> {
  return signInStep(request, '/api/v1/auth/admin/login');
}

/** Sign-out: the refresh token is revoked at the platform, and the cookies go. */
export async function DELETE(request: NextRequest): Promise<NextResponse> {
  const refreshToken = request.cookies.get(REFRESH_COOKIE)?.value;
  if (refreshToken) {
    await callGateway('/api/v1/auth/admin/logout', { method: 'POST', body: { refreshToken }, from: request.headers }).catch(() => undefined);
  }
  const response = new NextResponse(null, { status: 204 });
  clearSessionCookies(response);
  return response;
}
