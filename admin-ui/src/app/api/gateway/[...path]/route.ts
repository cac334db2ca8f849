import { type NextRequest, NextResponse } from 'next/server';
import { ACCESS_COOKIE } from '@/server/session';
import { answerForUnreachable, callGateway, errorBody } from '@/server/gateway';

/** The parts of the platform's API the console uses; nothing else is reachable through it. */
const ALLOWED = [
  /^admin\//,
  /^auth\/admin\//,
  /^subscription\/(plans|flags|tenants)(\/|$)/,
  /^billing\/(revenue|tenant-invoices|payments|tenant-usage|tenants)(\/|$)/,
];
/** Headers of the platform's answer the browser needs (a download's name, paging, retry advice, versions). */
const ANSWER_HEADERS = [
  'content-type',
  'content-disposition',
  'etag',
  'location',
  'retry-after',
  'x-request-id',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
];

/**
 * `/console/api/gateway/<path>` → the gateway's `/api/v1/<path>` with the session's access token. Bodies
 * stream both ways, so an export or an import of a large tenant never sits whole in this process.
 */
async function forward(request: NextRequest, { params }: { params: Promise<{ path: string[] }> }): Promise<Response> {
  const path = (await params).path.map(encodeURIComponent).join('/');
  if (!ALLOWED.some((pattern) => pattern.test(path))) {
    return NextResponse.json(errorBody('NOT_FOUND', 'The console does not offer this route'), { status: 404 });
  }
  const hasBody = !['GET', 'HEAD'].includes(request.method) && request.body !== null;
  const contentType = request.headers.get('content-type');
  try {
    const upstream = await callGateway(`/api/v1/${path}${request.nextUrl.search}`, {
      method: request.method,
      accessToken: request.cookies.get(ACCESS_COOKIE)?.value,
      from: request.headers,
      body: hasBody ? request.body : undefined,
      headers: hasBody && contentType ? { 'content-type': contentType } : {},
    });
    const headers = new Headers();
    for (const name of ANSWER_HEADERS) {
      const value = upstream.headers.get(name);
      if (value) headers.set(name, value);
    }
    return new Response(upstream.body, { status: upstream.status, headers });
  } catch (err) {
    return answerForUnreachable(err);
  }
}

export { forward as GET, forward as POST, forward as PUT, forward as PATCH, forward as DELETE };
