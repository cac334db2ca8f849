import { type NextRequest, NextResponse } from 'next/server';
import { answerForFailure, platformClient } from '@/lib/platform';

/** Creates the user on the platform; the page then signs in through NextAuth with the same credentials. */
export async function POST(req: NextRequest) {
  const body = (await req.json().catch(() => null)) as { email?: unknown; password?: unknown; name?: unknown } | null;
  try {
    const created = await platformClient().post('/api/v1/auth/register', {
      body: { email: String(body?.email ?? ''), password: String(body?.password ?? ''), name: String(body?.name ?? '') },
    });
    return NextResponse.json({ user: created.user }, { status: 201 });
  } catch (error) {
    return answerForFailure(error);
  }
}
