import type { NextRequest, NextResponse } from 'next/server';
import { signInStep } from '@/server/sign-in';

/** When the platform requires MFA of an admin without it: the secret to enrol, inside the sign-in. */
export function POST(request: NextRequest): Promise<NextResponse> {
  return signInStep(request, '/api/v1/auth/admin/login/mfa/enrol');
}
