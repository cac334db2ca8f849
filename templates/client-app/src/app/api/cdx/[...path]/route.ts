import type { Session } from '@codex-metatron/sdk';
import { type NextRequest, NextResponse } from 'next/server';
import { config } from '@/lib/config';
import { answerForFailure, errorAnswer, platformClient } from '@/lib/platform';
import { clearSessionToken, readSessionToken, writeSessionToken } from '@/lib/session-cookie';

/**
 * The browser's way to the platform (`/api/cdx/api/v1/…` → the gateway's `/api/v1/…`): this app's own origin, so the API key and
 * the platform's tokens stay on the server. The request is sent on with the
 * key and the signed-in user's access token by the SDK, which refreshes an
 * expired token (the new pair goes back into the session cookie) and answers
 * errors in the platform's shape. Only the routes a tenant app's users need
 * pass; proxy.ts refuses cross-origin writes before they get here.
 */
const ALLOWED = /^\/api\/v1\/(client\/|crm\/|auth\/(me|password|invitations\/accept)$|subscription\/(entitlements|flags\/evaluate|catalogue)$)/;
const REQUEST_HEADERS = ['content-type', 'accept', 'idempotency-key', 'if-match', 'if-none-match', 'cache-control'];
const RESPONSE_HEADERS = ['content-type', 'etag', 'location', 'retry-after', 'x-request-id', 'idempotent-replayed', 'cache-control', 'content-disposition'];

async function forward(req: NextRequest, { params }: { params: Promise<{ path: string[] }> }) {
  const path = `/${(await params).path.map(encodeURIComponent).join('/')}`;
  if (!ALLOWED.test(path)) return errorAnswer(404, 'NOT_FOUND', 'No such route');
  const token = await readSessionToken(req);
  const session = token?.accessToken && token.refreshToken ? { accessToken: token.accessToken, refreshToken: token.refreshToken } : null;
  let renewed: Session | null | undefined;
  const cdx = platformClient(session, (next) => {
    renewed = next;
  });

  const headers = new Headers();
  for (const name of REQUEST_HEADERS) {
    const value = req.headers.get(name);
    if (value) headers.set(name, value);
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer();
  let answer: NextResponse;
  try {
    const upstream = await cdx.fetch(new Request(`${config.apiUrl}${path}${req.nextUrl.search}`, { method: req.method, headers, body }));
    const relayed = new Headers();
    for (const name of RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value) relayed.set(name, value);
    }
    answer = new NextResponse(upstream.status === 204 || upstream.status === 304 ? null : upstream.body, { status: upstream.status, headers: relayed });
  } catch (error) {
    // Even a failed call may have rotated the tokens first: the cookie below must still get the new pair.
    answer = answerForFailure(error);
  }
  if (renewed && token) await writeSessionToken(answer, { ...token, accessToken: renewed.accessToken, refreshToken: renewed.refreshToken });
  // The refresh was refused: the session is over, and the browser is sent to sign in again.
  if (renewed === null) clearSessionToken(answer);
  return answer;
}

export { forward as DELETE, forward as GET, forward as PATCH, forward as POST, forward as PUT };
