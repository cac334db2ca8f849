import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line and outgoing call of one request should know. */
export interface RequestContext {
  requestId: string;
  /**
   * The request, for its client address as the TRUST_PROXY setting reads it (audit entries record it).
   * Express works `ip` out only when it is read, so requests that write no audit entry pay nothing.
   */
  client?: { readonly ip?: string };
  tenantId?: string;
  userId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `context` visible to everything it calls, sync or async. */
export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the request being handled, if any. */
export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
