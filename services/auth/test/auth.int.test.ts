import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { closeServiceDeps, TENANT_PERMISSIONS, TOKEN_AUDIENCE, TOKEN_ISSUER, type Identity, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { provisionTestTenant } from '../../../test/support/provisioning';
import { createTestDeps } from '../../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

describe('auth service', () => {
  let bed: TenantTestBed;
  let template: string;
  let deps: ServiceDeps<'auth'>;
  let app: ReturnType<typeof createApp>;
  let tenantA: string;
  let tenantB: string;

  const as = (identity: Omit<Identity, 'caller'>) => serviceAuth(deps, 'auth', identity);
  const forTenant = (tenantId: string) => as({ tenantId, roles: [] });
  const email = () => `user-${randomBytes(4).toString('hex')}@example.com`;
  const PASSWORD = 'correct horse battery';

  async function registerUser(tenantId: string, address = email(), password = PASSWORD) {
    return request(app).post('/api/v1/auth/register').set('Authorization', forTenant(tenantId)).send({ email: address, password, name: 'Test' });
  }
  async function jwks(): Promise<JSONWebKeySet> {
    return (await request(app).get('/.well-known/jwks.json')).body as JSONWebKeySet;
  }

  beforeAll(async () => {
    bed = await createTenantTestBed();
    template = bed.template;
    deps = createTestDeps('auth', bed.db.url, { BCRYPT_COST: '10', LOGIN_ACCOUNT_ATTEMPTS: '3', LOGIN_IP_ATTEMPTS: '1000' });
    app = createApp(deps);
    tenantA = (await provisionTestTenant(deps, template)).tenant.id;
    tenantB = (await provisionTestTenant(deps, template)).tenant.id;
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await bed.drop();
  });

  describe('sign-up and tokens', () => {
    it('when the first user registers, then it is the owner and gets an ES256 access token verifiable with the JWKS', async () => {
      const tenant = (await provisionTestTenant(deps, template)).tenant.id;
      const res = await registerUser(tenant);
      expect(res.status).toBe(201);
      expect(res.body.user).toMatchObject({ role: 'owner', status: 'active' });
      expect(res.body.user).not.toHaveProperty('passwordHash');
      expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshToken: expect.stringMatching(/^rt_/) });
      const { payload, protectedHeader } = await jwtVerify(res.body.accessToken, createLocalJWKSet(await jwks()), {
        algorithms: ['ES256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE.tenant,
      });
      expect(protectedHeader.kid).toEqual(expect.any(String));
      expect(payload).toMatchObject({ sub: res.body.user.id, tid: tenant, roles: ['owner'] });
      expect(payload.exp! - payload.iat!).toBe(900);
      expect((await registerUser(tenant)).body.user.role).toBe('member');
    });

    it('when the email is already registered (any case), then 409 EMAIL_TAKEN', async () => {
      const address = email();
      await registerUser(tenantA, address);
      const res = await registerUser(tenantA, address.toUpperCase());
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('EMAIL_TAKEN');
    });

    it('when the same email registers with another tenant, then that is a separate account', async () => {
      const address = email();
      expect((await registerUser(tenantA, address)).status).toBe(201);
      expect((await registerUser(tenantB, address)).status).toBe(201);
    });

    const badRegistrations: Array<[string, Record<string, unknown>, string]> = [
      ['a short password', { email: 'a@example.com', password: 'short' }, 'body.password'],
      ['a password over 72 bytes', { email: 'a@example.com', password: 'é'.repeat(37) }, 'body.password'],
      ['a 1 MB password', { email: 'a@example.com', password: 'x'.repeat(1_000_000) }, 'body.password'],
      ['SQL in the email', { email: "x'; DROP TABLE users; --", password: PASSWORD }, 'body.email'],
      ['no email', { password: PASSWORD }, 'body.email'],
    ];
    it.each(badRegistrations)('when registering with %s, then 400 naming the field', async (_case, body, path) => {
      const res = await request(app).post('/api/v1/auth/register').set('Authorization', forTenant(tenantA)).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    });

    it('when the tenant is invite-only, then sign-up is 403 SIGNUP_CLOSED', async () => {
      const tenant = (await provisionTestTenant(deps, template)).tenant.id;
      await deps.db.query(`UPDATE tenants SET settings = '{"signup":"invite"}' WHERE id = $1`, [tenant]);
      const res = await registerUser(tenant);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('SIGNUP_CLOSED');
    });

    it('when no tenant comes with the call, then 401 and nothing is written', async () => {
      const res = await request(app)
        .post('/api/v1/auth/register')
        .set('Authorization', as({ roles: [] }))
        .send({ email: email(), password: PASSWORD });
      expect(res.status).toBe(401);
    });

    it('when the call does not come from a service, then 401', async () => {
      const res = await request(app).post('/api/v1/auth/login').send({ email: email(), password: PASSWORD });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_SERVICE_TOKEN');
    });
  });

  describe('login', () => {
    it('when the password is right, then tokens; when wrong or the email unknown, then the same 401', async () => {
      const address = email();
      await registerUser(tenantA, address);
      const ok = await request(app).post('/api/v1/auth/login').set('Authorization', forTenant(tenantA)).send({ email: address, password: PASSWORD });
      expect(ok.status).toBe(200);
      const wrong = await request(app)
        .post('/api/v1/auth/login')
        .set('Authorization', forTenant(tenantA))
        .send({ email: address, password: 'wrong password!' });
      const unknown = await request(app)
        .post('/api/v1/auth/login')
        .set('Authorization', forTenant(tenantA))
        .send({ email: email(), password: 'wrong password!' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      const strip = (body: { error: Record<string, unknown> }) => ({ ...body.error, requestId: undefined });
      expect(strip(wrong.body)).toEqual(strip(unknown.body));
    });

    it('when the email is unknown, then the answer takes about as long as for a wrong password', async () => {
      // One account per wrong try, so the per-account throttle never answers early.
      const accounts = Array.from({ length: 7 }, () => email());
      for (const account of accounts) await registerUser(tenantB, account);
      const time = async (body: object) => {
        const started = performance.now();
        await request(app).post('/api/v1/auth/login').set('Authorization', forTenant(tenantB)).send(body);
        return performance.now() - started;
      };
      await time({ email: email(), password: 'warm up the dummy' });
      // Medians of several tries: hashing runs at low priority, so one slow sample must not decide.
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const wrong: number[] = [];
      const unknown: number[] = [];
      // Seven pairs: on a loaded CI machine one pair in four can be skewed by another suite's burst.
      for (let i = 0; i < accounts.length; i += 1) {
        wrong.push(await time({ email: accounts[i]!, password: `wrong-${i}-password` }));
        unknown.push(await time({ email: email(), password: `wrong-${i}-password` }));
      }
      expect(median(unknown) / median(wrong)).toBeGreaterThan(0.5);
      expect(median(unknown) / median(wrong)).toBeLessThan(2);
    });

    it("when a user of tenant A logs in with tenant B's key, then 401", async () => {
      const address = email();
      await registerUser(tenantA, address);
      const res = await request(app).post('/api/v1/auth/login').set('Authorization', forTenant(tenantB)).send({ email: address, password: PASSWORD });
      expect(res.status).toBe(401);
    });

    it('when SQL metacharacters are in a well-formed email, then 401, never 500', async () => {
      const res = await request(app)
        .post('/api/v1/auth/login')
        .set('Authorization', forTenant(tenantA))
        .send({ email: "o'brien--@example.com", password: "' OR '1'='1" });
      expect(res.status).toBe(401);
    });

    it('when an account is guessed at repeatedly, then 429 with Retry-After, even for the right password', async () => {
      const address = email();
      const tenant = (await provisionTestTenant(deps, template)).tenant.id;
      await registerUser(tenant, address);
      const attempt = (password: string) => request(app).post('/api/v1/auth/login').set('Authorization', forTenant(tenant)).send({ email: address, password });
      for (let i = 0; i < 3; i += 1) expect((await attempt(`guess number ${i}`)).status).toBe(401);
      const blocked = await attempt(PASSWORD);
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('RATE_LIMITED');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(blocked.headers.ratelimit).toBeDefined();
    });
  });

  describe('refresh, reuse and logout', () => {
    async function signedIn(tenantId = tenantA) {
      return (await registerUser(tenantId)).body as { accessToken: string; refreshToken: string; user: { id: string } };
    }
    const refresh = (tenantId: string, refreshToken: string) =>
      request(app).post('/api/v1/auth/refresh').set('Authorization', forTenant(tenantId)).send({ refreshToken });

    it('when a refresh token is used, then a new pair comes back and the old one is spent', async () => {
      const session = await signedIn();
      const rotated = await refresh(tenantA, session.refreshToken);
      expect(rotated.status).toBe(200);
      expect(rotated.body.refreshToken).not.toBe(session.refreshToken);
      expect((await refresh(tenantA, rotated.body.refreshToken)).status).toBe(200);
    });

    it('when six tabs refresh with the same token at once, then all keep the session: one successor for all, and it works', async () => {
      const session = await signedIn();
      const answers = await Promise.all(Array.from({ length: 6 }, () => refresh(tenantA, session.refreshToken)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(new Set(answers.map((a) => a.body.refreshToken)).size).toBe(1);
      expect(answers.every((a) => typeof a.body.accessToken === 'string')).toBe(true);
      expect((await refresh(tenantA, answers[0]!.body.refreshToken)).status).toBe(200);
    });

    it('when a token older than the immediate parent is presented again, then 401 and the whole family is revoked', async () => {
      const session = await signedIn();
      const first = await refresh(tenantA, session.refreshToken);
      const second = await refresh(tenantA, first.body.refreshToken);
      expect(second.status).toBe(200);
      const reuse = await refresh(tenantA, session.refreshToken);
      expect(reuse.status).toBe(401);
      expect(reuse.body.error.code).toBe('REFRESH_TOKEN_REUSED');
      expect((await refresh(tenantA, second.body.refreshToken)).status).toBe(401);
    });

    it('when the immediate parent is presented again after the grace window, then 401 and the whole family is revoked', async () => {
      const strictDeps = createTestDeps('auth', bed.db.url, { BCRYPT_COST: '10', REFRESH_REUSE_GRACE_SECONDS: '1' });
      const strict = createApp(strictDeps);
      try {
        const refreshStrict = (refreshToken: string) =>
          request(strict).post('/api/v1/auth/refresh').set('Authorization', forTenant(tenantA)).send({ refreshToken });
        const session = await signedIn();
        const rotated = await refreshStrict(session.refreshToken);
        expect(rotated.status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        const reuse = await refreshStrict(session.refreshToken);
        expect(reuse.status).toBe(401);
        expect(reuse.body.error.code).toBe('REFRESH_TOKEN_REUSED');
        expect((await refreshStrict(rotated.body.refreshToken)).status).toBe(401);
      } finally {
        await closeServiceDeps(strictDeps);
      }
    });

    it("when tenant B presents tenant A's refresh token, then 401 and A's token still works", async () => {
      const session = await signedIn(tenantA);
      expect((await refresh(tenantB, session.refreshToken)).status).toBe(401);
      expect((await refresh(tenantA, session.refreshToken)).status).toBe(200);
    });

    it('when a user logs out, then the refresh token no longer works', async () => {
      const session = await signedIn();
      const out = await request(app).post('/api/v1/auth/logout').set('Authorization', forTenant(tenantA)).send({ refreshToken: session.refreshToken });
      expect(out.status).toBe(204);
      expect((await refresh(tenantA, session.refreshToken)).status).toBe(401);
    });

    it('when a refresh token is malformed, then 400', async () => {
      expect((await refresh(tenantA, "rt_' OR 1=1 --")).status).toBe(400);
    });

    it('when /me is called for the user, then roles and permissions come back', async () => {
      const session = await signedIn((await provisionTestTenant(deps, template)).tenant.id);
      const payload = JSON.parse(Buffer.from(session.accessToken.split('.')[1]!, 'base64url').toString()) as { tid: string; sub: string };
      const res = await request(app)
        .get('/api/v1/auth/me')
        .set('Authorization', as({ tenantId: payload.tid, userId: payload.sub, roles: ['owner'] }));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: payload.sub, roles: ['owner'] });
      expect(res.body.permissions).toEqual([...TENANT_PERMISSIONS].sort());
    });

    it('when the password changes, then old sessions end and the new password works', async () => {
      const address = email();
      const session = (await registerUser(tenantA, address)).body;
      const auth = as({ tenantId: tenantA, userId: session.user.id, roles: ['member'] });
      const wrongCurrent = await request(app)
        .post('/api/v1/auth/password')
        .set('Authorization', auth)
        .send({ currentPassword: 'not it at all', newPassword: 'a brand new password' });
      expect(wrongCurrent.status).toBe(401);
      const changed = await request(app)
        .post('/api/v1/auth/password')
        .set('Authorization', auth)
        .send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });
      expect(changed.status).toBe(204);
      expect((await refresh(tenantA, session.refreshToken)).status).toBe(401);
      const login = await request(app)
        .post('/api/v1/auth/login')
        .set('Authorization', forTenant(tenantA))
        .send({ email: address, password: 'a brand new password' });
      expect(login.status).toBe(200);
    });
  });

  describe('platform admins', () => {
    const adminEmail = `root-${randomBytes(3).toString('hex')}@platform.example`;
    beforeAll(async () => {
      await deps.db.query(`INSERT INTO admins (email, password_hash, role) VALUES ($1, $2, 'super_admin')`, [adminEmail, await bcrypt.hash(PASSWORD, 10)]);
    });

    it('when an admin logs in, then the token is for the admin audience and carries no tenant', async () => {
      const res = await request(app)
        .post('/api/v1/auth/admin/login')
        .set('Authorization', as({ roles: [] }))
        .send({ email: adminEmail, password: PASSWORD });
      expect(res.status).toBe(200);
      const { payload } = await jwtVerify(res.body.accessToken, createLocalJWKSet(await jwks()), { audience: TOKEN_AUDIENCE.admin, issuer: TOKEN_ISSUER });
      expect(payload.tid).toBeUndefined();
      expect(payload.roles).toEqual(['super_admin']);
      await expect(jwtVerify(res.body.accessToken, createLocalJWKSet(await jwks()), { audience: TOKEN_AUDIENCE.tenant })).rejects.toThrow();
      const rotated = await request(app)
        .post('/api/v1/auth/admin/refresh')
        .set('Authorization', as({ roles: [] }))
        .send({ refreshToken: res.body.refreshToken });
      expect(rotated.status).toBe(200);
      const me = await request(app)
        .get('/api/v1/auth/admin/me')
        .set('Authorization', as({ adminId: payload.sub!, roles: ['super_admin'] }));
      expect(me.body).toMatchObject({ email: adminEmail, roles: ['super_admin'] });
    });

    it('when an admin signs in, or fails to, then each attempt is in the audit log with its address and reason', async () => {
      const signIn = (password: string) =>
        request(app)
          .post('/api/v1/auth/admin/login')
          .set('Authorization', as({ roles: [] }))
          .set('X-Forwarded-For', '198.51.100.23')
          .send({ email: adminEmail, password });
      expect((await signIn('not the password')).status).toBe(401);
      const ok = await signIn(PASSWORD);
      expect(ok.status).toBe(200);
      const unknown = await request(app)
        .post('/api/v1/auth/admin/login')
        .set('Authorization', as({ roles: [] }))
        .send({ email: `nobody-${randomBytes(3).toString('hex')}@platform.example`, password: PASSWORD });
      expect(unknown.status).toBe(401);
      const { rows } = await deps.db.query(
        `SELECT action, actor_id, host(ip) AS ip, details, request_id FROM audit_log WHERE action LIKE 'admin.login%' AND (details->>'email' = $1 OR actor_id = $2 OR details->>'email' LIKE 'nobody-%') ORDER BY seq`,
        [adminEmail, ok.body.user.id],
      );
      expect(rows.slice(-3)).toEqual([
        {
          action: 'admin.login_failed',
          actor_id: ok.body.user.id,
          ip: '198.51.100.23',
          details: { email: adminEmail, reason: 'wrong password' },
          request_id: expect.any(String),
        },
        { action: 'admin.login', actor_id: ok.body.user.id, ip: '198.51.100.23', details: {}, request_id: ok.headers['x-request-id'] },
        {
          action: 'admin.login_failed',
          actor_id: null,
          ip: expect.any(String),
          details: { email: expect.stringMatching(/^nobody-/), reason: 'unknown email' },
          request_id: expect.any(String),
        },
      ]);
    });

    it("when a tenant user's credentials are used at the admin login, then 401", async () => {
      const address = email();
      await registerUser(tenantA, address);
      const res = await request(app)
        .post('/api/v1/auth/admin/login')
        .set('Authorization', as({ roles: [] }))
        .send({ email: address, password: PASSWORD });
      expect(res.status).toBe(401);
    });

    it('when the signing key rotates, then old tokens still verify and new ones carry the new kid', async () => {
      const before = (await registerUser(tenantA)).body.accessToken as string;
      const publishedBefore = (await jwks()).keys.map((key: { kid?: string }) => key.kid);
      const rotate = await request(app)
        .post('/api/v1/auth/admin/keys/rotate')
        .set('Authorization', as({ adminId: 'a1', roles: ['super_admin'] }));
      expect(rotate.status).toBe(201);
      const after = (await registerUser(tenantA)).body.accessToken as string;
      expect(decodeProtectedHeader(after).kid).toBe(rotate.body.kid);
      // The key that became current was published before any token carried it.
      expect(publishedBefore).toContain(rotate.body.kid);
      const set = createLocalJWKSet(await jwks());
      await expect(jwtVerify(before, set)).resolves.toBeDefined();
      await expect(jwtVerify(after, set)).resolves.toBeDefined();
      const viewer = await request(app)
        .post('/api/v1/auth/admin/keys/rotate')
        .set('Authorization', as({ adminId: 'a2', roles: ['viewer'] }));
      expect(viewer.status).toBe(403);
    });
  });
});
