import { type NextRequest, NextResponse } from 'next/server';
import { answerForUnreachable, callGatewayJson, errorBody } from './gateway';
import { setSessionCookies, type Tokens } from './session';

async function jsonBody(request: NextRequest): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return undefined;
  }
}

/**
 * One step of the admin sign-in, passed to the platform as the browser sent it. The answer goes back as
 * the platform gave it, except that tokens never do: they become the session's cookies.
 */
export async function signInStep(request: NextRequest, path: string): Promise<NextResponse> {
  const body = await jsonBody(request);
  if (body === undefined) return NextResponse.json(errorBody('VALIDATION_FAILED', 'The body must be JSON'), { status: 400 });
  let answer: { status: number; body: Partial<Tokens> & Record<string, unknown> };
  try {
    answer = await callGatewayJson(path, { method: 'POST', body, from: request.headers });
  } catch (err) {
    return answerForUnreachable(err);
  }
  const { accessToken, refreshToken, expiresIn, tokenType: _type, ...rest } = answer.body ?? {};
  const response = NextResponse.json(rest, { status: answer.status });
  if (answer.status === 200 && accessToken && refreshToken && expiresIn) setSessionCookies(response, request, { accessToken, refreshToken, expiresIn });
  return response;
}
