import type { NextRequest, NextResponse } from 'next/server';
import { signInStep } from '@/server/sign-in';

/** Sign-in, second step: the challenge token with an authenticator code or a recovery code. */
export function POST(request: NextRequest): Promise<NextResponse> {
  return signInStep(request, '/api/v1/auth/admin/login/mfa');
}
