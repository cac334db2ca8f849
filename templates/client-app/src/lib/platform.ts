import 'server-only';
import { createCodexClient, type Session } from '@codex-metatron/sdk';
import { config } from './config';

/**
 * The SDK on this app's server: the API key, and the signed-in user's tokens
 * when there are any. `onSessionChange` hears of a refresh (the pair rotates)
 * so the caller can store the new pair in the session cookie.
 */
export function platformClient(session: Session | null = null, onSessionChange?: (session: Session | null) => void) {
  return createCodexClient({ baseUrl: config.apiUrl, apiKey: config.apiKey, session, onSessionChange, retry: { attempts: 1 } });
}
