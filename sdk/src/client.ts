import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/schema.js';
import { Transport, type Session, type TransportOptions } from './transport.js';

export type Schemas = components['schemas'];
export type FlagValues = Schemas['FlagValues'];
export type Entitlements = Schemas['Entitlements'];
type Tokens = Schemas['Tokens'];

/** What a call resolves to: the success body (the transport throws every error answer). */
type DataOf<R> = R extends { data?: infer D } ? Exclude<D, undefined> : never;

/** A call of the typed client, resolving to its body alone. */
const unwrap =
  <A extends unknown[], R extends { data?: unknown }>(call: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<DataOf<R>> =>
    (await call(...args)).data as DataOf<R>;

export type CodexClientOptions = TransportOptions;

/** A page of a cursor-paged list. */
interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A client for one tenant app (one API key): typed calls for every route of
 * the platform (`cdx.get('/api/v1/client/clients', { params: { query: { q } } })`
 * resolves to the page itself and throws CodexApiError on an error answer),
 * the signed-in user's session, paging and cached flags.
 */
export function createCodexClient(options: CodexClientOptions) {
  const transport = new Transport(options);
  const api: Client<paths> = createClient<paths>({ baseUrl: options.baseUrl, fetch: transport.fetch });

  const signedIn = async (tokens: Tokens) => {
    transport.forgetCache();
    await transport.setSession({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
  };

  const cdx = {
    /** The openapi-fetch client itself, for `{ data, response }` (headers, status) rather than the body alone. */
    api,
    /** The SDK's own fetch (tokens, refresh, retries, ETags; errors thrown), for a request built by hand, as an app's proxy to the platform forwards one. */
    fetch: transport.fetch,
    get: unwrap(api.GET),
    post: unwrap(api.POST),
    put: unwrap(api.PUT),
    patch: unwrap(api.PATCH),
    delete: unwrap(api.DELETE),

    get session(): Session | null {
      return transport.currentSession;
    },
    /** Adopts tokens kept elsewhere (a server-side session store). */
    setSession: (session: Session | null) => transport.setSession(session),

    /** Creates a user of this tenant app and signs them in. */
    async signUp(body: NonNullable<paths['/api/v1/auth/register']['post']['requestBody']>['content']['application/json']) {
      const result = await cdx.post('/api/v1/auth/register', { body });
      await signedIn(result);
      return result;
    },
    async signIn(email: string, password: string) {
      const result = await cdx.post('/api/v1/auth/login', { body: { email, password } });
      await signedIn(result);
      return result;
    },
    /** Ends the session on the platform (its refresh token is revoked) and here. */
    async signOut() {
      const refreshToken = transport.currentSession?.refreshToken;
      try {
        if (refreshToken) await cdx.post('/api/v1/auth/logout', { body: { refreshToken } });
      } finally {
        transport.forgetCache();
        await transport.setSession(null);
      }
    },

    /**
     * Every item of a cursor-paged list, fetched a page at a time as you
     * iterate: `for await (const client of cdx.each((cursor) => cdx.get('/api/v1/client/clients', { params: { query: { cursor } } })))`.
     */
    async *each<T>(page: (cursor: string | undefined) => Promise<CursorPage<T>>): AsyncGenerator<T, void, undefined> {
      let cursor: string | undefined;
      do {
        const result = await page(cursor);
        yield* result.items;
        cursor = result.nextCursor ?? undefined;
      } while (cursor);
    },

    /** Every flag's value for this tenant (and `userId`'s sticky rollouts); revalidated by ETag, so unchanged flags cost a 304. */
    flags: (userId?: string): Promise<FlagValues> => cdx.get('/api/v1/subscription/flags/evaluate', { params: { query: userId ? { userId } : {} } }),
    /** This tenant's plan, limits, usage and features; revalidated by ETag like `flags`. */
    entitlements: (): Promise<Entitlements> => cdx.get('/api/v1/subscription/entitlements'),
  };
  return cdx;
}

export type CodexClient = ReturnType<typeof createCodexClient>;
