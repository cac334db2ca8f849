import 'server-only';
import { CodexApiError, createCodexClient, type Session } from '@codex-metatron/sdk';
import { NextResponse } from 'next/server';
import { config } from './config';

/**
 * The SDK on this app's server: the API key, and the signed-in user's tokens
 * when there are any. `onSessionChange` hears of a refresh (the pair rotates)
 * so the caller can store the new pair in the session cookie.
 */
export function platformClient(session: Session | null = null, onSessionChange?: (session: Session | null) => void) {
  return createCodexClient({ baseUrl: config.apiUrl, apiKey: config.apiKey, session, onSessionChange, retry: { attempts: 1 } });
}

/** An answer in the platform's error shape, made by this app itself (a refused request, the platform out of reach). */
export const errorAnswer = (status: number, code: string, message: string) =>
  NextResponse.json({ error: { code, message, requestId: crypto.randomUUID() } }, { status });

/** What a failed platform call answers to the browser: the platform's own error, or 502 when it could not be reached. */
export function answerForFailure(error: unknown): NextResponse {
  if (!(error instanceof CodexApiError)) return errorAnswer(502, 'GATEWAY_UNREACHABLE', 'The platform cannot be reached');
  return NextResponse.json(
    { error: { code: error.code, message: error.message, details: error.details, requestId: error.requestId } },
    { status: error.status, headers: error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(Math.ceil(error.retryAfterSeconds)) } },
  );
}
