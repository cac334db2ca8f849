'use client';

import { type CodexClient, createCodexClient } from '@codex-metatron/sdk';

let client: CodexClient | undefined;

/**
 * The SDK in the browser, pointed at this app's own proxy (`/api/cdx`), which
 * adds the API key and the user's token on the server. Typed calls, typed
 * errors, Idempotency-Keys, safe retries and If-Match all work as against the
 * platform itself.
 */
export function api(): CodexClient {
  client ??= createCodexClient({ baseUrl: `${window.location.origin}/api/cdx` });
  return client;
}
