import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const IN_FORCE_WITHIN_MS = 5_000;
const PASSWORD = 'a long enough password';

/**
 * Platform admins managed through the gateway as the console does (#14): invitations with one-time
 * tokens, roles, disabling that ends sessions at once, password resets, and the last active super admin
 * who cannot be removed, disabled or demoted.
 */
describe('platform admins (through the gateway)', () => {
  let platform: TestPlatform;
  let operator: string;
  let operatorId: string;

  const gateway = () => request(platform.gateway.url);
  const as = (token: string) => ({
    get: (path: string) => gateway().get(path).set('Authorization', `Bearer ${token}`),
    post: (path: string) => gateway().post(path).set('Authorization', `Bearer ${token}`),
    patch: (path: string) => gateway().patch(path).set('Authorization', `Bearer ${token}`),
    delete: (path: string) => gateway().delete(path).set('Authorization', `Bearer ${token}`),
  });
  const signIn = (email: string, password = PASSWORD) => gateway().post('/api/v1/auth/admin/login').send({ email, password });
  const email = () => `admin-${randomBytes(4).toString('hex')}@platform.example`;

  /** An admin made by the operator who has set a password and signed in. */
  async function newAdmin(role: string) {
    const address = email();
    const created = await as(operator).post('/api/v1/admin/admins').send({ email: address, role });
    expect(created.status).toBe(201);
    expect((await gateway().post('/api/v1/auth/admin/password').send({ token: created.body.passwordToken, password: PASSWORD })).status).toBe(204);
    const session = await signIn(address);
    expect(session.status).toBe(200);
    return {
      id: created.body.admin.id as string,
      email: address,
      token: session.body.accessToken as string,
      refreshToken: session.body.refreshToken as string,
    };
  }
  /** Tokens count their issue time in whole seconds: a sign-in right after sessions were ended waits for the next one. */
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000) + 20));
  async function until(condition: () => Promise<boolean>) {
    const started = Date.now();
    while (!(await condition())) {
      if (Date.now() - started > IN_FORCE_WITHIN_MS) throw new Error(`not in force within ${IN_FORCE_WITHIN_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return Date.now() - started;
  }

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [] });
    operator = await platform.newOperatorToken();
    operatorId = (await as(operator).get('/api/v1/auth/admin/me')).body.id;
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when a super admin adds an admin, then they have no password until they set one with the one-time token, which works once', async () => {
    const address = email();
    const created = await as(operator).post('/api/v1/admin/admins').send({ email: address, name: 'Ada', role: 'support' });
    expect(created.status).toBe(201);
    expect(created.body.admin).toMatchObject({ email: address, name: 'Ada', role: 'support', status: 'active', hasPassword: false, mfaEnrolled: false });
    expect(created.body.passwordToken).toMatch(/^apt_/);
    expect(JSON.stringify((await as(operator).get('/api/v1/admin/admins')).body)).not.toContain(created.body.passwordToken);
    expect((await signIn(address)).status).toBe(401);

    expect((await gateway().post('/api/v1/auth/admin/password').send({ token: created.body.passwordToken, password: PASSWORD })).status).toBe(204);
    expect((await signIn(address)).status).toBe(200);
    expect((await as(operator).get(`/api/v1/admin/admins/${created.body.admin.id}`)).body).toMatchObject({ hasPassword: true });
    const again = await gateway().post('/api/v1/auth/admin/password').send({ token: created.body.passwordToken, password: 'another long password' });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('PASSWORD_TOKEN_INVALID');
    expect((await as(operator).post('/api/v1/admin/admins').send({ email: address.toUpperCase(), role: 'viewer' })).body.error.code).toBe('EMAIL_TAKEN');
  });

  it('when an admin is disabled, then their access token stops working on the gateway within seconds, and refresh and sign-in fail', async () => {
    const admin = await newAdmin('admin');
    expect((await as(admin.token).get('/api/v1/admin/tenants')).status).toBe(200);
    const disabled = await as(operator).patch(`/api/v1/admin/admins/${admin.id}`).send({ status: 'disabled' });
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe('disabled');
    await until(async () => (await as(admin.token).get('/api/v1/admin/tenants')).status === 401);
    expect((await gateway().post('/api/v1/auth/admin/refresh').send({ refreshToken: admin.refreshToken })).status).toBe(401);
    expect((await signIn(admin.email)).status).toBe(401);

    expect((await as(operator).patch(`/api/v1/admin/admins/${admin.id}`).send({ status: 'active' })).status).toBe(200);
    await nextSecond();
    const back = await signIn(admin.email);
    expect(back.status).toBe(200);
    expect((await as(back.body.accessToken).get('/api/v1/admin/tenants')).status).toBe(200);
  });

  it("when an admin's role changes, then the token with the old role stops working, and the new sign-in carries the new role", async () => {
    const admin = await newAdmin('admin');
    expect((await as(operator).patch(`/api/v1/admin/admins/${admin.id}`).send({ role: 'viewer' })).status).toBe(200);
    await until(async () => (await as(admin.token).get('/api/v1/admin/tenants')).status === 401);
    await nextSecond();
    const again = await signIn(admin.email);
    const create = await as(again.body.accessToken)
      .post('/api/v1/admin/tenants')
      .send({ name: 'Nope', slug: `nope-${randomBytes(3).toString('hex')}` });
    expect(create.status).toBe(403);
  });

  it("when a super admin resets an admin's password, then the old password and sessions end and the token sets a new one", async () => {
    const admin = await newAdmin('support');
    const reset = await as(operator).post(`/api/v1/admin/admins/${admin.id}/password-reset`);
    expect(reset.status).toBe(201);
    expect(reset.body.passwordToken).toMatch(/^apt_/);
    expect((await signIn(admin.email)).status).toBe(401);
    await until(async () => (await as(admin.token).get('/api/v1/admin/admins')).status === 401);
    expect((await gateway().post('/api/v1/auth/admin/password').send({ token: reset.body.passwordToken, password: 'a brand new password' })).status).toBe(204);
    expect((await signIn(admin.email, 'a brand new password')).status).toBe(200);

    const { rows } = await platform.deps.admin!.db.query(`SELECT action, actor_id FROM audit_log WHERE target_type = 'admin' AND target_id = $1 ORDER BY seq`, [
      admin.id,
    ]);
    expect(rows.map((row) => row.action)).toEqual([
      'admin.created',
      'admin.password_set',
      'admin.login',
      'admin.password_reset',
      'admin.login_failed',
      'admin.password_set',
      'admin.login',
    ]);
    expect(rows.find((row) => row.action === 'admin.password_reset')!.actor_id).toBe(operatorId);
  });

  it('when a role lacks the permission, or the input is bad, then 403 naming it, 400 or 404', async () => {
    const viewer = await newAdmin('viewer');
    const list = await as(viewer.token).get('/api/v1/admin/admins');
    expect(list.status).toBe(403);
    expect(list.body.error.message).toMatch(/admins:read/);
    const support = await newAdmin('support');
    expect((await as(support.token).get('/api/v1/admin/admins')).status).toBe(200);
    const create = await as(support.token).post('/api/v1/admin/admins').send({ email: email(), role: 'super_admin' });
    expect(create.status).toBe(403);
    expect(create.body.error.message).toMatch(/admins:manage/);

    for (const body of [
      { email: 'not-an-email', role: 'admin' },
      { email: email(), role: 'root' },
      { email: email() },
      { email: email(), role: 'admin', extra: 1 },
    ]) {
      expect((await as(operator).post('/api/v1/admin/admins').send(body)).status).toBe(400);
    }
    expect((await as(operator).patch(`/api/v1/admin/admins/${support.id}`).send({})).status).toBe(400);
    const unknown = await as(operator).patch(`/api/v1/admin/admins/${randomUUID()}`).send({ name: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ADMIN_NOT_FOUND');
    expect((await as(operator).delete(`/api/v1/admin/admins/${randomUUID()}`)).status).toBe(404);
    expect((await as(operator).post(`/api/v1/admin/admins/${randomUUID()}/password-reset`)).status).toBe(404);
    expect((await gateway().post('/api/v1/auth/admin/password').send({ token: 'apt_short', password: PASSWORD })).status).toBe(400);
  });

  it('when the last active super admin would be demoted, disabled or removed, then 409 and nothing changes; with two, concurrent removals leave one', async () => {
    const supers = (await as(operator).get('/api/v1/admin/admins')).body.items.filter(
      (a: { role: string; status: string }) => a.role === 'super_admin' && a.status === 'active',
    );
    expect(supers.map((a: { id: string }) => a.id)).toEqual([operatorId]);
    for (const [method, body] of [
      ['patch', { role: 'admin' }],
      ['patch', { status: 'disabled' }],
      ['delete', undefined],
    ] as const) {
      const call = as(operator)[method](`/api/v1/admin/admins/${operatorId}`);
      const res = body ? await call.send(body) : await call;
      expect({ method, status: res.status, code: res.body.error?.code }).toEqual({ method, status: 409, code: 'LAST_SUPER_ADMIN' });
    }
    expect((await as(operator).get(`/api/v1/admin/admins/${operatorId}`)).body).toMatchObject({ role: 'super_admin', status: 'active' });

    // Two super admins, each disabled at the same moment: one of the two requests must lose.
    const second = await newAdmin('super_admin');
    const [first, other] = await Promise.all([
      as(operator).patch(`/api/v1/admin/admins/${operatorId}`).send({ status: 'disabled' }),
      as(operator).patch(`/api/v1/admin/admins/${second.id}`).send({ status: 'disabled' }),
    ]);
    expect([first.status, other.status].sort()).toEqual([200, 409]);
    const { rows } = await platform.deps.admin!.db.query(`SELECT count(*)::int AS n FROM admins WHERE role = 'super_admin' AND status = 'active'`);
    expect(rows[0].n).toBe(1);
  });
});
