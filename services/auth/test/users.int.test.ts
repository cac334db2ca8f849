import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { closeServiceDeps, type Identity, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { provisionTestTenant } from '../../../test/support/provisioning';
import { createTestDeps } from '../../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

describe('tenant user management (auth service)', () => {
  let bed: TenantTestBed;
  let deps: ServiceDeps<'auth'>;
  let app: ReturnType<typeof createApp>;
  const PASSWORD = 'correct horse battery';

  const as = (identity: Omit<Identity, 'caller'>) => serviceAuth(deps, 'auth', identity);
  const email = () => `u-${randomBytes(4).toString('hex')}@example.com`;

  /** A fresh tenant whose first user (the owner) is signed up. */
  async function tenantWithOwner() {
    const tenantId = (await provisionTestTenant(deps, bed.template)).tenant.id;
    const res = await request(app)
      .post('/api/v1/auth/register')
      .set('Authorization', as({ tenantId, roles: [] }))
      .send({ email: email(), password: PASSWORD });
    const owner = res.body.user as { id: string };
    return { tenantId, owner, ownerAuth: as({ tenantId, userId: owner.id, roles: ['owner'] }) };
  }

  /** An invitation sent with `auth` (which names the tenant). */
  const invite = (auth: string, role = 'member') => request(app).post('/api/v1/auth/users').set('Authorization', auth).send({ email: email(), role });

  beforeAll(async () => {
    bed = await createTenantTestBed();
    deps = createTestDeps('auth', bed.db.url, { BCRYPT_COST: '10' });
    app = createApp(deps);
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await bed.drop();
  });

  it('when an owner invites a user, then the invited user can sign in only after accepting, once', async () => {
    const { tenantId, ownerAuth } = await tenantWithOwner();
    const invited = await invite(ownerAuth);
    expect(invited.status).toBe(201);
    expect(invited.body.user.status).toBe('invited');
    expect(invited.body.invitationToken).toMatch(/^inv_/);
    const key = as({ tenantId, roles: [] });
    expect((await request(app).post('/api/v1/auth/login').set('Authorization', key).send({ email: invited.body.user.email, password: PASSWORD })).status).toBe(
      401,
    );
    const accepted = await request(app)
      .post('/api/v1/auth/invitations/accept')
      .set('Authorization', key)
      .send({ token: invited.body.invitationToken, password: PASSWORD });
    expect(accepted.status).toBe(200);
    expect(accepted.body.user).toMatchObject({ status: 'active', role: 'member' });
    expect((await request(app).post('/api/v1/auth/login').set('Authorization', key).send({ email: invited.body.user.email, password: PASSWORD })).status).toBe(
      200,
    );
    const again = await request(app)
      .post('/api/v1/auth/invitations/accept')
      .set('Authorization', key)
      .send({ token: invited.body.invitationToken, password: PASSWORD });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('INVALID_INVITATION');
  });

  it('when members and viewers ask for the user list, then 403; owners and admins get it', async () => {
    const { tenantId, ownerAuth } = await tenantWithOwner();
    expect((await request(app).get('/api/v1/auth/users').set('Authorization', ownerAuth)).body.total).toBe(1);
    for (const role of ['member', 'viewer']) {
      const res = await request(app)
        .get('/api/v1/auth/users')
        .set('Authorization', as({ tenantId, userId: 'x', roles: [role] }));
      expect(res.status).toBe(403);
    }
    expect(
      (
        await request(app)
          .get('/api/v1/auth/users')
          .set('Authorization', as({ tenantId, userId: 'x', roles: ['admin'] }))
      ).status,
    ).toBe(200);
  });

  it('when a tenant admin tries to make or change an owner, then 403 OWNER_REQUIRED', async () => {
    const { tenantId, owner } = await tenantWithOwner();
    const adminAuth = as({ tenantId, userId: 'some-admin', roles: ['admin'] });
    const res = await invite(adminAuth, 'owner');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('OWNER_REQUIRED');
    const demote = await request(app).patch(`/api/v1/auth/users/${owner.id}`).set('Authorization', adminAuth).send({ role: 'member' });
    expect(demote.status).toBe(403);
  });

  it('when the last owner would be demoted, disabled or deleted, then 409 LAST_OWNER', async () => {
    const { owner, ownerAuth } = await tenantWithOwner();
    for (const change of [{ role: 'admin' }, { status: 'disabled' }]) {
      const res = await request(app).patch(`/api/v1/auth/users/${owner.id}`).set('Authorization', ownerAuth).send(change);
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('LAST_OWNER');
    }
    expect((await request(app).delete(`/api/v1/auth/users/${owner.id}`).set('Authorization', ownerAuth)).status).toBe(409);
  });

  it('when a user is disabled, then their sessions end and they cannot log in; deleting removes them', async () => {
    const { tenantId, ownerAuth } = await tenantWithOwner();
    const key = as({ tenantId, roles: [] });
    const address = email();
    const member = (await request(app).post('/api/v1/auth/register').set('Authorization', key).send({ email: address, password: PASSWORD })).body;
    const disabled = await request(app).patch(`/api/v1/auth/users/${member.user.id}`).set('Authorization', ownerAuth).send({ status: 'disabled' });
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe('disabled');
    expect((await request(app).post('/api/v1/auth/refresh').set('Authorization', key).send({ refreshToken: member.refreshToken })).status).toBe(401);
    expect((await request(app).post('/api/v1/auth/login').set('Authorization', key).send({ email: address, password: PASSWORD })).status).toBe(401);
    expect((await request(app).delete(`/api/v1/auth/users/${member.user.id}`).set('Authorization', ownerAuth)).status).toBe(204);
    expect((await request(app).get(`/api/v1/auth/users/${member.user.id}`).set('Authorization', ownerAuth)).status).toBe(404);
  });

  it("when tenant B's owner addresses a user of tenant A, then 404 and A's user is untouched", async () => {
    const a = await tenantWithOwner();
    const b = await tenantWithOwner();
    const res = await request(app).patch(`/api/v1/auth/users/${a.owner.id}`).set('Authorization', b.ownerAuth).send({ status: 'disabled' });
    expect(res.status).toBe(404);
    expect((await request(app).get(`/api/v1/auth/users/${a.owner.id}`).set('Authorization', a.ownerAuth)).body.status).toBe('active');
    expect((await request(app).delete(`/api/v1/auth/users/${a.owner.id}`).set('Authorization', b.ownerAuth)).status).toBe(404);
  });

  const badPatches: Array<[string, string, object]> = [
    ['an empty change', 'valid', {}],
    ['an unknown role', 'valid', { role: 'god' }],
    ['an unknown field', 'valid', { passwordHash: 'x' }],
    ['a malformed id', "1' OR '1'='1", { name: 'x' }],
  ];
  it.each(badPatches)('when a patch has %s, then 400', async (_case, id, body) => {
    const { owner, ownerAuth } = await tenantWithOwner();
    const res = await request(app)
      .patch(`/api/v1/auth/users/${id === 'valid' ? owner.id : encodeURIComponent(id)}`)
      .set('Authorization', ownerAuth)
      .send(body);
    expect(res.status).toBe(400);
  });
});
