import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import bcrypt from 'bcrypt';
import express from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { closeServiceDeps, requireServiceToken, TOKEN_AUDIENCE, TOKEN_ISSUER, type ServiceDeps, type ServiceName } from '@codex/shared';
import { createApp as createAdminApp } from '../../services/admin/src/app';
import { createApp as createAuthApp } from '../../services/auth/src/app';
import { KeyRing } from '../../services/auth/src/domain/key-ring';
import { createApp } from '../src/app';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { listenOnFreePort, type Listening } from '../../test/support/listen';
import { provisionTestTenant } from '../../test/support/provisioning';
import { createTestDeps } from '../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../test/support/tenant-test-bed';
import { serviceAuth } from '../../test/support/service-auth';

describe('gateway identity pipeline (real auth and admin services over HTTP)', () => {
  let bed: TenantTestBed;
  let db: TestDatabase;
  let template: string;
  const allDeps: ServiceDeps[] = [];
  const servers: Listening[] = [];
  let auth: Listening;
  let gateway: ReturnType<typeof createApp>;
  let gatewayDeps: ServiceDeps<'gateway'>;
  let adminUrl: string;
  let jwksFetches = 0;
  const keyOf: Record<string, string> = {};
  const tenantOf: Record<string, string> = {};
  const PASSWORD = 'correct horse battery';
  const ADMIN_EMAIL = 'ops@platform.example';

  function deps<S extends ServiceName>(service: S, env: Record<string, string> = {}) {
    const created = createTestDeps(service, db.url, { BCRYPT_COST: '10', ...env });
    allDeps.push(created);
    return created;
  }

  beforeAll(async () => {
    bed = await createTenantTestBed();
    db = bed.db;
    template = bed.template;
    const authDeps = deps('auth');
    const authApp = createAuthApp(authDeps);
    auth = await listenOnFreePort((req, res) => {
      if (req.url === '/.well-known/jwks.json') jwksFetches += 1;
      authApp(req, res);
    });
    const admin = await listenOnFreePort(createAdminApp(deps('admin', { TENANT_TEMPLATE_DATABASE: template })));
    adminUrl = admin.url;
    // The "crm" here is a stub that shows exactly what reaches a service.
    const echoDeps = deps('crm');
    const echo = express();
    echo.use(requireServiceToken('crm', echoDeps.config.serviceJwtSecret), (req, res) => {
      if (req.query.redirect) {
        res.redirect(302, 'http://10.1.2.3:3005/internal/secret');
        return;
      }
      res.json({ identity: req.identity, headers: req.headers, path: req.originalUrl });
    });
    const crm = await listenOnFreePort(echo);
    servers.push(auth, admin, crm);

    for (const name of ['a', 'b', 'suspended']) {
      const provisioned = await provisionTestTenant(authDeps, template);
      keyOf[name] = provisioned.apiKey.key;
      tenantOf[name] = provisioned.tenant.id;
    }
    await authDeps.db.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [tenantOf.suspended]);
    await authDeps.db.query(`INSERT INTO admins (email, password_hash, role) VALUES ($1, $2, 'super_admin')`, [ADMIN_EMAIL, await bcrypt.hash(PASSWORD, 10)]);

    gatewayDeps = deps('gateway', { AUTH_URL: auth.url, ADMIN_URL: admin.url, CRM_URL: crm.url, API_KEY_CACHE_MS: '200', API_KEY_USAGE_FLUSH_MS: '100' });
    gateway = createApp(gatewayDeps, { jwksMinRefetchMs: 1_000 });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    for (const d of allDeps) await closeServiceDeps(d);
    await bed.drop();
  });

  async function signUp(tenant: string) {
    const email = `u-${randomBytes(4).toString('hex')}@example.com`;
    const res = await request(gateway).post('/api/v1/auth/register').set('X-API-Key', keyOf[tenant]!).send({ email, password: PASSWORD });
    expect(res.status).toBe(201);
    return { email, ...(res.body as { accessToken: string; refreshToken: string; user: { id: string } }) };
  }

  const whoami = (key: string | undefined, token: string | undefined) => {
    const req = request(gateway).get('/api/v1/crm/pipelines');
    if (key) req.set('X-API-Key', key);
    if (token) req.set('Authorization', `Bearer ${token}`);
    return req;
  };

  it('when a user signs up, logs in and calls a service, then the service gets a service JWT with the verified identity and nothing else', async () => {
    const user = await signUp('a');
    const login = await request(gateway).post('/api/v1/auth/login').set('X-API-Key', keyOf.a!).send({ email: user.email, password: PASSWORD });
    expect(login.status).toBe(200);
    const res = await whoami(keyOf.a, login.body.accessToken).set('X-Tenant-Id', tenantOf.b!).set('X-User-Id', 'someone-else').set('X-Service-Token', 'forged');
    expect(res.status).toBe(200);
    expect(res.body.identity).toEqual({ caller: 'gateway', tenantId: tenantOf.a, userId: user.user.id, roles: ['owner'] });
    for (const header of ['x-tenant-id', 'x-user-id', 'x-service-token', 'x-api-key']) expect(res.body.headers).not.toHaveProperty(header);
    expect(res.body.headers.authorization).not.toContain(login.body.accessToken);
  });

  it('when a service answers with a redirect, then the caller gets 502 UPSTREAM_ERROR and never the internal Location', async () => {
    const user = await signUp('a');
    const res = await request(gateway).get('/api/v1/crm/pipelines?redirect=1').set('X-API-Key', keyOf.a!).set('Authorization', `Bearer ${user.accessToken}`);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('UPSTREAM_ERROR');
    expect(res.headers.location).toBeUndefined();
  });

  it('when an upload says Expect: 100-continue (curl does over 1 MB), then the service still gets the service JWT and none of the caller credentials', async () => {
    const user = await signUp('a');
    const listening = await listenOnFreePort(gateway);
    try {
      const answer = await new Promise<{ status: number; body: { identity: unknown; headers: Record<string, string> } }>((resolve, reject) => {
        const req = http.request(`${listening.url}/api/v1/crm/import?format=csv`, {
          method: 'POST',
          headers: {
            'X-API-Key': keyOf.a!,
            Authorization: `Bearer ${user.accessToken}`,
            'Content-Type': 'text/csv',
            Expect: '100-continue',
            'X-Tenant-Id': tenantOf.b!,
          },
        });
        req.on('continue', () => req.end('name\nx\n'));
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
      });
      expect(answer.status).toBe(200);
      expect(answer.body.identity).toMatchObject({ caller: 'gateway', tenantId: tenantOf.a, userId: user.user.id });
      for (const header of ['x-tenant-id', 'x-api-key', 'expect']) expect(answer.body.headers).not.toHaveProperty(header);
      expect(answer.body.headers.authorization).not.toContain(user.accessToken);
    } finally {
      await listening.close();
    }
  });

  it('when a key is used, then the admin service learns its last use from a batched report, and only the gateway may report', async () => {
    const keyLastUsed = async () =>
      (await gatewayDeps.db.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL', [tenantOf.b]))
        .rows[0]!.last_used_at;
    const before = Date.now();
    await whoami(keyOf.b, undefined);
    let lastUsed = await keyLastUsed();
    for (let waited = 0; (!lastUsed || lastUsed.getTime() < before - 1_000) && waited < 5_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      lastUsed = await keyLastUsed();
    }
    expect(lastUsed!.getTime()).toBeGreaterThanOrEqual(before - 1_000);

    const res = await request(adminUrl)
      .post('/internal/api-keys/usage')
      .set('Authorization', serviceAuth(gatewayDeps, 'admin', undefined, 'crm'))
      .send({ usage: [{ id: randomUUID(), lastUsedAt: new Date().toISOString() }] });
    expect(res.status).toBe(403);
    const fromGateway = serviceAuth(gatewayDeps, 'admin');
    for (const body of [{ usage: [] }, { usage: [{ id: 'x', lastUsedAt: 'yesterday' }] }]) {
      expect((await request(adminUrl).post('/internal/api-keys/usage').set('Authorization', fromGateway).send(body)).status).toBe(400);
    }
  });

  it('when the whole session runs through the gateway, then refresh rotates, reuse revokes the family, /me and logout work', async () => {
    const user = await signUp('b');
    const me = await request(gateway).get('/api/v1/auth/me').set('X-API-Key', keyOf.b!).set('Authorization', `Bearer ${user.accessToken}`);
    expect(me.body).toMatchObject({ id: user.user.id, email: user.email });
    const refresh = (refreshToken: string) => request(gateway).post('/api/v1/auth/refresh').set('X-API-Key', keyOf.b!).send({ refreshToken });
    // Two tabs at once: both keep the session, with one successor.
    const [tabA, tabB] = await Promise.all([refresh(user.refreshToken), refresh(user.refreshToken)]);
    expect([tabA.status, tabB.status]).toEqual([200, 200]);
    expect(tabA.body.refreshToken).toBe(tabB.body.refreshToken);
    const next = await refresh(tabA.body.refreshToken);
    expect(next.status).toBe(200);
    // The first token is now two generations old: presenting it revokes the whole login.
    const reuse = await refresh(user.refreshToken);
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('REFRESH_TOKEN_REUSED');
    expect((await refresh(next.body.refreshToken)).status).toBe(401);
    const again = await request(gateway).post('/api/v1/auth/login').set('X-API-Key', keyOf.b!).send({ email: user.email, password: PASSWORD });
    const out = await request(gateway).post('/api/v1/auth/logout').set('X-API-Key', keyOf.b!).send({ refreshToken: again.body.refreshToken });
    expect(out.status).toBe(204);
  });

  describe('tokens that must not pass (401, no JWKS fetch, no 5xx)', () => {
    let keys: KeyRing;
    let valid: { accessToken: string; refreshToken: string; user: { id: string } };

    beforeAll(async () => {
      keys = new KeyRing(gatewayDeps.db, gatewayDeps.secrets);
      valid = await signUp('a');
      expect((await whoami(keyOf.a, valid.accessToken)).status).toBe(200); // JWKS now cached
    });

    const ourKey = async () => keys.current();
    const claims = () => ({ tid: tenantOf.a, roles: ['owner'] });
    const base = () => ({ issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE.tenant, subject: valid.user.id });
    const attacks: Array<[string, () => Promise<string | undefined>]> = [
      ['missing', async () => undefined],
      ['garbage', async () => 'not.a.token'],
      [
        'expired',
        async () => {
          const k = await ourKey();
          return jwt.sign(claims(), k.privateKey, { ...base(), algorithm: 'ES256', keyid: k.kid, expiresIn: -60 });
        },
      ],
      [
        'without exp',
        async () => {
          const k = await ourKey();
          return jwt.sign(claims(), k.privateKey, { ...base(), algorithm: 'ES256', keyid: k.kid });
        },
      ],
      [
        'alg none',
        async () =>
          `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims(), sub: valid.user.id, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE.tenant, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.`,
      ],
      [
        'alg noNE',
        async () =>
          `${Buffer.from(JSON.stringify({ alg: 'noNE', kid: 'x' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims(), sub: valid.user.id, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.c2ln`,
      ],
      [
        'HS256 signed with the public key',
        async () => {
          const k = await ourKey();
          const jwk = (await request(gateway).get('/.well-known/jwks.json')).body.keys.find((key: { kid: string }) => key.kid === k.kid);
          const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
          // Libraries refuse to make this token, so craft it by hand: the classic key-confusion attack.
          const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
          const unsigned = `${encode({ alg: 'HS256', typ: 'JWT', kid: k.kid })}.${encode({ ...claims(), sub: valid.user.id, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE.tenant, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 })}`;
          return `${unsigned}.${createHmac('sha256', pem).update(unsigned).digest('base64url')}`;
        },
      ],
      [
        'signed by an unknown key (unknown kid)',
        async () => {
          const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
          return jwt.sign(claims(), privateKey, { ...base(), algorithm: 'ES256', keyid: randomUUID(), expiresIn: 600 });
        },
      ],
      [
        'for another audience',
        async () => {
          const k = await ourKey();
          return jwt.sign(claims(), k.privateKey, { ...base(), audience: TOKEN_AUDIENCE.admin, algorithm: 'ES256', keyid: k.kid, expiresIn: 600 });
        },
      ],
      [
        'from another issuer',
        async () => {
          const k = await ourKey();
          return jwt.sign(claims(), k.privateKey, { ...base(), issuer: 'evil', algorithm: 'ES256', keyid: k.kid, expiresIn: 600 });
        },
      ],
      ['a refresh token', async () => valid.refreshToken],
    ];

    it.each(attacks)('when the token is %s, then 401 (an unknown kid costs at most one JWKS fetch, nothing else any)', async (name, make) => {
      const fetchesBefore = jwksFetches;
      const res = await whoami(keyOf.a, await make());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_TOKEN');
      expect(jwksFetches - fetchesBefore).toBeLessThanOrEqual(name.includes('unknown kid') ? 1 : 0);
    });

    it('when 30 tokens with random kids arrive at once, then the gateway fetches the JWKS at most twice, and every one is 401', async () => {
      const forge = () =>
        jwt.sign(claims(), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, {
          ...base(),
          algorithm: 'ES256',
          keyid: randomUUID(),
          expiresIn: 600,
        });
      const fetchesBefore = jwksFetches;
      const answers = await Promise.all(Array.from({ length: 30 }, () => whoami(keyOf.a, forge())));
      expect(answers.map((a) => a.status)).toEqual(Array(30).fill(401));
      expect(jwksFetches - fetchesBefore).toBeLessThanOrEqual(2);
    });

    it("when tenant A's token comes with tenant B's key, then 403 TENANT_MISMATCH", async () => {
      const res = await whoami(keyOf.b, valid.accessToken);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('TENANT_MISMATCH');
    });

    it('when the API key is unknown, malformed or missing, then 401 INVALID_API_KEY', async () => {
      for (const key of ['cmk_AAAAAAAAAAAA_' + 'A'.repeat(43), "' OR 1=1 --", undefined]) {
        const res = await whoami(key, valid.accessToken);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('INVALID_API_KEY');
      }
    });

    it('when the tenant is suspended, then its key gets 403 TENANT_SUSPENDED', async () => {
      const res = await request(gateway).post('/api/v1/auth/login').set('X-API-Key', keyOf.suspended!).send({ email: 'x@example.com', password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('TENANT_SUSPENDED');
    });

    it('when a key is revoked, then within the cache time it stops working', async () => {
      const provisioned = await provisionTestTenant(gatewayDeps, template);
      const key = provisioned.apiKey.key;
      expect((await request(gateway).post('/api/v1/auth/login').set('X-API-Key', key).send({ email: 'n@example.com', password: PASSWORD })).status).toBe(401);
      await gatewayDeps.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [provisioned.apiKey.id]);
      await new Promise((resolve) => setTimeout(resolve, 250));
      const res = await request(gateway).post('/api/v1/auth/login').set('X-API-Key', key).send({ email: 'n@example.com', password: PASSWORD });
      expect(res.body.error.code).toBe('INVALID_API_KEY');
    });
  });

  describe('admins', () => {
    let adminToken: string;
    beforeAll(async () => {
      const login = await request(gateway).post('/api/v1/auth/admin/login').send({ email: ADMIN_EMAIL, password: PASSWORD });
      expect(login.status).toBe(200);
      adminToken = login.body.accessToken;
    });

    it('when a token with a forged kid comes, then the keys rotate, then a user signs in, then the new token works at once', async () => {
      const forged = jwt.sign({ tid: tenantOf.a, roles: ['owner'] }, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, {
        algorithm: 'ES256',
        keyid: randomUUID(),
        subject: randomUUID(),
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE.tenant,
        expiresIn: 600,
      });
      expect((await whoami(keyOf.a, forged)).status).toBe(401);
      const rotated = await request(gateway).post('/api/v1/auth/admin/keys/rotate').set('Authorization', `Bearer ${adminToken}`);
      expect(rotated.status).toBe(201);
      const user = await signUp('a');
      const started = Date.now();
      const me = await request(gateway).get('/api/v1/auth/me').set('X-API-Key', keyOf.a!).set('Authorization', `Bearer ${user.accessToken}`);
      expect(me.status).toBe(200);
      expect(JSON.parse(Buffer.from(user.accessToken.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated.body.kid);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('when an admin token calls the admin API without any API key, then it works', async () => {
      const res = await request(gateway).get('/api/v1/admin/tenants').set('Authorization', `Bearer ${adminToken}`);
      expect(res.status).toBe(200);
      expect(res.body.total).toBeGreaterThanOrEqual(3);
    });

    it('when a genuine admin token is used on tenant routes, or a tenant token on admin routes, then 403 FORBIDDEN (known, not allowed)', async () => {
      const onTenantRoute = await whoami(keyOf.a, adminToken);
      expect(onTenantRoute.status).toBe(403);
      expect(onTenantRoute.body.error.code).toBe('FORBIDDEN');
      const user = await signUp('a');
      const res = await request(gateway).get('/api/v1/admin/tenants').set('Authorization', `Bearer ${user.accessToken}`).set('X-API-Key', keyOf.a!);
      expect(res.status).toBe(403);
      // The same again, now from the verified-token cache.
      expect((await request(gateway).get('/api/v1/admin/tenants').set('Authorization', `Bearer ${user.accessToken}`)).status).toBe(403);
    });
  });

  it('when the JWKS is asked of the gateway, then it serves the auth service keys', async () => {
    const res = await request(gateway).get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(res.body.keys[0]).not.toHaveProperty('d');
  });

  it('when a key sends more than its limit, then 429 with RateLimit headers and Retry-After', async () => {
    const limited = createApp(deps('gateway', { AUTH_URL: auth.url, RATE_LIMIT_PER_KEY: '3' }));
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 4; i += 1) {
      last = await request(limited).post('/api/v1/auth/login').set('X-API-Key', keyOf.b!).send({ email: 'limit@example.com', password: PASSWORD });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(last!.body.error.code).toBe('RATE_LIMITED');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(last!.headers.ratelimit).toMatch(/limit=3/);
  });

  it('when the auth service is down, then tokens still verify (cached JWKS) and /health/services reports it down', async () => {
    const user = await signUp('a');
    await auth.close();
    const res = await whoami(keyOf.a, user.accessToken);
    expect(res.status).toBe(200);
    const health = await request(gateway).get('/health/services');
    expect(health.body.services.find((s: { service: string }) => s.service === 'auth')).toMatchObject({ status: 'down' });
  });
});

describe('combined OpenAPI at the gateway', () => {
  it('when /openapi.json is asked of the gateway, then it lists the public routes of the services and not their internal ones', async () => {
    const db = await createTestDatabase('master');
    const authDeps = createTestDeps('auth', db.url);
    const auth = await listenOnFreePort(createAuthApp(authDeps));
    const gatewayDeps = createTestDeps('gateway', db.url, { AUTH_URL: auth.url });
    try {
      const res = await request(createApp(gatewayDeps)).get('/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.paths['/api/v1/auth/login'].post.summary).toEqual(expect.any(String));
      expect(Object.keys(res.body.paths).some((path) => path.startsWith('/internal'))).toBe(false);
      expect(res.body.components.securitySchemes.apiKey).toMatchObject({ in: 'header', name: 'X-API-Key' });
    } finally {
      await auth.close();
      await closeServiceDeps(authDeps);
      await closeServiceDeps(gatewayDeps);
      await db.drop();
    }
  });
});
