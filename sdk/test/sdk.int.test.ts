import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@codex/shared';
import { KeyRing } from '../../services/auth/src/domain/key-ring';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../test/support/platform';
import { CodexApiError, createCodexClient, isCodexApiError, type CodexClient, type Session } from '../src';

/** What the SDK sent, as the wire saw it: the SDK runs over the real fetch; this only watches (and, where a test says, drops an answer). */
interface Sent {
  method: string;
  path: string;
  headers: Headers;
  status?: number;
}

const PASSWORD = 'correct horse battery';

/** The error answer a call must end in (a call that succeeds fails the test). */
const failureOf = (call: Promise<unknown>): Promise<CodexApiError> =>
  call.then(
    () => {
      throw new Error('expected an error answer');
    },
    (error: unknown) => error as CodexApiError,
  );

describe('the SDK (@codex-metatron/sdk) against a running platform', () => {
  jest.setTimeout(60_000);
  let platform: TestPlatform;
  let operator: string;
  let keys: KeyRing;

  beforeAll(async () => {
    // A 2 s rate-limit window, so a tenant on a slow plan meets 429 with a Retry-After the test can wait out.
    platform = await startTestPlatform({ services: ['crm', 'client', 'subscription'], env: { gateway: { RATE_LIMIT_WINDOW_MS: '2000', REDIS_URL: '' } } });
    operator = await platform.newOperatorToken();
    keys = new KeyRing(platform.deps.gateway!.db, platform.deps.gateway!.secrets);
  });
  afterAll(async () => {
    await platform?.close();
  });

  /** An SDK client of `tenant` whose every request is recorded in `sent`; `interfere` may throw instead of returning an answer. */
  function sdkFor(tenant: PlatformTenant, options: { interfere?: (request: Request, response: Response) => void; sessions?: Array<Session | null> } = {}) {
    const sent: Sent[] = [];
    const cdx = createCodexClient({
      baseUrl: platform.gateway.url,
      apiKey: tenant.key,
      retry: { baseDelayMs: 20 },
      onSessionChange: (session) => {
        options.sessions?.push(session);
      },
      fetch: async (req) => {
        const entry: Sent = { method: req.method, path: new URL(req.url).pathname + new URL(req.url).search, headers: new Headers(req.headers) };
        sent.push(entry);
        const response = await fetch(req);
        entry.status = response.status;
        options.interfere?.(req, response);
        return response;
      },
    });
    return { cdx, sent };
  }

  /** A user of `tenant` signed up and in through the SDK. */
  async function signedUp(tenant: PlatformTenant, options: Parameters<typeof sdkFor>[1] = {}) {
    const client = sdkFor(tenant, options);
    await client.cdx.signUp({ email: `user-${randomBytes(4).toString('hex')}@app.example`, password: PASSWORD });
    return client;
  }

  /** A genuine access token of this user, signed by the platform's current key, that expired a minute ago. */
  async function expiredTokenOf(cdx: CodexClient, tenant: PlatformTenant): Promise<string> {
    const me = await cdx.get('/api/v1/auth/me');
    const key = await keys.current();
    return jwt.sign({ tid: tenant.id, roles: me.roles }, key.privateKey, {
      algorithm: 'ES256',
      keyid: key.kid,
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE.tenant,
      subject: me.id,
      expiresIn: -60,
    });
  }

  it('when a user signs up and creates a client, then the calls are typed end to end and the create carried an Idempotency-Key', async () => {
    const tenant = await platform.newTenant();
    const sessions: Array<Session | null> = [];
    const { cdx, sent } = await signedUp(tenant, { sessions });
    expect(sessions).toHaveLength(1);
    expect(cdx.session?.refreshToken).toMatch(/^rt_/);
    const created = await cdx.post('/api/v1/client/clients', { body: { name: 'Acme', tags: ['sdk'] } });
    expect(created.name).toBe('Acme');
    const create = sent.find((entry) => entry.method === 'POST' && entry.path === '/api/v1/client/clients')!;
    expect(create.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
    expect(create.headers.get('authorization')).toMatch(/^Bearer /);
    // Sign-up takes no user token; reads are not given an Idempotency-Key.
    expect(sent[0]!.headers.get('authorization')).toBeNull();
    const read = await cdx.get('/api/v1/client/clients/{id}', { params: { path: { id: created.id } } });
    expect(read.id).toBe(created.id);
    expect(sent.at(-1)!.headers.get('idempotency-key')).toBeNull();
  });

  it('when the answer to a create is lost on the way back, then the retry reuses its Idempotency-Key and the platform replays it: one client, not two', async () => {
    const tenant = await platform.newTenant();
    let dropped = false;
    const { cdx, sent } = await signedUp(tenant, {
      interfere: (req, response) => {
        if (!dropped && req.method === 'POST' && new URL(req.url).pathname === '/api/v1/client/clients' && response.status === 201) {
          dropped = true;
          throw new TypeError('fetch failed: connection reset after the server answered');
        }
      },
    });
    const name = `Once ${randomUUID()}`;
    const created = await cdx.api.POST('/api/v1/client/clients', { body: { name } });
    const creates = sent.filter((entry) => entry.method === 'POST' && entry.path === '/api/v1/client/clients');
    expect(creates).toHaveLength(2);
    expect(creates[1]!.headers.get('idempotency-key')).toBe(creates[0]!.headers.get('idempotency-key'));
    expect(created.response.headers.get('idempotent-replayed')).toBe('true');
    const rows = await platform.query<{ count: string }>(tenant.id, 'SELECT count(*) FROM clients WHERE name = $1', [name]);
    expect(rows[0]!.count).toBe('1');
  });

  it('when ten requests at once find the access token expired, then one refresh serves them all and the new pair is handed over once', async () => {
    const tenant = await platform.newTenant();
    const sessions: Array<Session | null> = [];
    const { cdx, sent } = await signedUp(tenant, { sessions });
    await cdx.post('/api/v1/client/clients', { body: { name: 'Before expiry' } });
    const spent = cdx.session!.refreshToken;
    await cdx.setSession({ accessToken: await expiredTokenOf(cdx, tenant), refreshToken: spent });
    sessions.length = 0;
    sent.length = 0;
    const pages = await Promise.all(Array.from({ length: 10 }, () => cdx.get('/api/v1/client/clients', { params: { query: { limit: 5 } } })));
    expect(pages.every((page) => page.items.length === 1)).toBe(true);
    expect(sent.filter((entry) => entry.path === '/api/v1/auth/refresh')).toHaveLength(1);
    expect(sent.filter((entry) => entry.status === 401)).toHaveLength(10);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.refreshToken).not.toBe(spent);
  });

  it('when the token expires in the middle of paging, then the iterator refreshes and goes on, yielding every client once in order', async () => {
    const tenant = await platform.newTenant();
    const { cdx, sent } = await signedUp(tenant);
    const names = Array.from({ length: 7 }, (_, i) => `Paged ${i}`);
    for (const name of names) await cdx.post('/api/v1/client/clients', { body: { name } });
    const seen: string[] = [];
    const expired = await expiredTokenOf(cdx, tenant);
    for await (const client of cdx.each((cursor) => cdx.get('/api/v1/client/clients', { params: { query: { limit: 2, sort: 'name', cursor } } }))) {
      seen.push(client.name);
      if (seen.length === 3) await cdx.setSession({ accessToken: expired, refreshToken: cdx.session!.refreshToken });
    }
    expect(seen).toEqual(names);
    expect(sent.filter((entry) => entry.path === '/api/v1/auth/refresh')).toHaveLength(1);
  });

  it('when the refresh token is revoked, then the session ends (handed over as null) and the 401 reaches the caller as a typed error', async () => {
    const tenant = await platform.newTenant();
    const sessions: Array<Session | null> = [];
    const { cdx } = await signedUp(tenant, { sessions });
    const { refreshToken } = cdx.session!;
    await request(platform.gateway.url).post('/api/v1/auth/logout').set('X-API-Key', tenant.key).send({ refreshToken }).expect(204);
    await cdx.setSession({ accessToken: await expiredTokenOf(cdx, tenant), refreshToken });
    const error = await cdx.get('/api/v1/client/clients').catch((caught: unknown) => caught);
    expect(isCodexApiError(error)).toBe(true);
    expect((error as CodexApiError).status).toBe(401);
    expect(sessions.at(-1)).toBeNull();
    expect(cdx.session).toBeNull();
  });

  it('when the input is invalid or the record is missing, then the error is typed with code, field problems and requestId', async () => {
    const tenant = await platform.newTenant();
    const { cdx } = await signedUp(tenant);
    const invalid = await failureOf(cdx.post('/api/v1/client/clients', { body: { name: '', email: 'x'.repeat(300) } }));
    expect(invalid).toBeInstanceOf(CodexApiError);
    expect([invalid.status, invalid.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(Object.keys(invalid.fieldErrors()).sort()).toEqual(['email', 'name']);
    expect(invalid.requestId).toEqual(expect.any(String));
    const missing = await failureOf(cdx.get('/api/v1/client/clients/{id}', { params: { path: { id: randomUUID() } } }));
    expect([missing.status, missing.code]).toEqual([404, 'CLIENT_NOT_FOUND']);
  });

  it("when another tenant's SDK asks for this tenant's client by id, then it does not exist there, and cannot be changed either", async () => {
    const owner = await signedUp(await platform.newTenant());
    const other = await signedUp(await platform.newTenant());
    const created = await owner.cdx.post('/api/v1/client/clients', { body: { name: 'Private' } });
    const read = await failureOf(other.cdx.get('/api/v1/client/clients/{id}', { params: { path: { id: created.id } } }));
    expect(read.code).toBe('CLIENT_NOT_FOUND');
    const write = await failureOf(
      other.cdx.patch('/api/v1/client/clients/{id}', { params: { path: { id: created.id } }, body: { name: 'Taken', version: created.version } }),
    );
    expect(write.code).toBe('CLIENT_NOT_FOUND');
    expect((await owner.cdx.get('/api/v1/client/clients/{id}', { params: { path: { id: created.id } } })).name).toBe('Private');
  });

  it('when a record is updated, then the ETag it was read with goes back as If-Match: a lost update is refused with 409, never written', async () => {
    const tenant = await platform.newTenant();
    const first = await signedUp(tenant);
    const second = sdkFor(tenant);
    await second.cdx.signIn((await first.cdx.get('/api/v1/auth/me')).email, PASSWORD);
    const created = await first.cdx.post('/api/v1/client/clients', { body: { name: 'Versioned' } });
    // The second reader never read it: the platform asks for a precondition rather than overwrite blindly.
    const blind = await failureOf(second.cdx.patch('/api/v1/client/clients/{id}', { params: { path: { id: created.id } }, body: { name: 'Blind' } }));
    expect(blind.code).toBe('PRECONDITION_REQUIRED');
    await second.cdx.get('/api/v1/client/clients/{id}', { params: { path: { id: created.id } } });
    const changed = await second.cdx.patch('/api/v1/client/clients/{id}', { params: { path: { id: created.id } }, body: { name: 'Second' } });
    expect(second.sent.at(-1)!.headers.get('if-match')).toBe(`"${created.version}"`);
    expect(changed.name).toBe('Second');
    // The first client still holds the ETag of its create: its update would overwrite the second's.
    const lost = await failureOf(first.cdx.patch('/api/v1/client/clients/{id}', { params: { path: { id: created.id } }, body: { name: 'First' } }));
    expect([lost.status, lost.code]).toEqual([409, 'VERSION_CONFLICT']);
    await first.cdx.get('/api/v1/client/clients/{id}', { params: { path: { id: created.id } } });
    expect((await first.cdx.patch('/api/v1/client/clients/{id}', { params: { path: { id: created.id } }, body: { name: 'First' } })).name).toBe('First');
  });

  it('when flags and entitlements are asked for again unchanged, then the SDK revalidates by ETag (304) and answers from its copy; a change arrives', async () => {
    const tenant = await platform.newTenant();
    const { cdx, sent } = await signedUp(tenant);
    const first = await cdx.flags();
    const again = await cdx.flags();
    expect(again).toEqual(first);
    const flagReads = sent.filter((entry) => entry.path.startsWith('/api/v1/subscription/flags/evaluate'));
    expect(flagReads.map((entry) => entry.status)).toEqual([200, 304]);
    expect(flagReads[1]!.headers.get('if-none-match')).toEqual(expect.stringMatching(/^W\/"/));
    // Entitlements carry usage, which moves with every call: they are revalidated the same way, 304 or a newer body.
    const entitlements = await cdx.entitlements();
    const revalidated = await cdx.entitlements();
    expect(revalidated.plan).toEqual(entitlements.plan);
    const entitlementReads = sent.filter((entry) => entry.path === '/api/v1/subscription/entitlements');
    expect(entitlementReads[1]!.headers.get('if-none-match')).toEqual(expect.stringMatching(/^W\/"/));
    expect([200, 304]).toContain(entitlementReads[1]!.status);

    const key = `sdk.flag-${randomBytes(3).toString('hex')}`;
    await request(platform.gateway.url)
      .post('/api/v1/subscription/flags')
      .set('Authorization', `Bearer ${operator}`)
      .send({ key, defaultValue: true })
      .expect(201);
    let latest = await cdx.flags();
    for (let i = 0; i < 40 && latest.flags[key] === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      latest = await cdx.flags();
    }
    expect(latest.flags[key]).toEqual({ enabled: true });
  });

  it('when a rate limit answers 429 with Retry-After, then a read waits that long and succeeds, and a write that could run twice is not retried', async () => {
    const code = `sdk-slow-${randomBytes(3).toString('hex')}`;
    const admin = (path: string, body: object) =>
      request(platform.gateway.url).post(`/api/v1/subscription${path}`).set('Authorization', `Bearer ${operator}`).send(body);
    const limits = { requestsPerMinute: 30, apiCallsPerMonth: null, maxUsers: null, maxClients: null, storageBytes: null };
    await admin('/plans', { code, name: 'Slow', amountMinor: 100, currency: 'EUR', interval: 'month', limits }).expect(201);
    const tenant = await platform.newTenant();
    await admin(`/tenants/${tenant.id}/plan`, { plan: code }).expect(200);
    // 30 a minute is 1 per 2 s window.
    const { cdx, sent } = sdkFor(tenant);
    await cdx.setSession({ accessToken: tenant.token, refreshToken: `rt_${'x'.repeat(43)}` });
    // The plan is in force on the gateway within about a second (its entitlements cache); until then the platform's limit applies.
    let limited = false;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !limited; ) {
      await cdx.get('/api/v1/client/clients');
      limited = sent.some((entry) => entry.status === 429);
    }
    expect(limited).toBe(true);
    const refusal = sent.findIndex((entry) => entry.status === 429);
    expect(sent[refusal + 1]?.status).toBe(200);

    sent.length = 0;
    const move = await failureOf(cdx.post('/api/v1/crm/deals/{id}/move', { params: { path: { id: randomUUID() } }, body: { stageId: randomUUID() } }));
    const moveAgain = await failureOf(cdx.post('/api/v1/crm/deals/{id}/move', { params: { path: { id: randomUUID() } }, body: { stageId: randomUUID() } }));
    const refused = [move, moveAgain].find((error) => error.status === 429)!;
    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Each move was sent once: a 429 on a write without an Idempotency-Key is handed to the caller.
    expect(sent.map((entry) => entry.path.split('/').at(-1))).toEqual(['move', 'move']);
  });
});
