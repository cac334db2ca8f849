import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { serviceAuth } from '../../../test/support/service-auth';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import { createTestDeps } from '../../../test/support/service-deps';

const IN_FORCE_WITHIN_MS = 5_000;

/**
 * Live platform configuration (#14): one schema, versions with who, when and what changed, rollback, and a
 * change in force on another admin instance within seconds without a restart. Invalid input is 400 with
 * every field named, and nothing is saved.
 */
describe('platform configuration (through the gateway, and a second admin instance)', () => {
  let platform: TestPlatform;
  let operator: string;
  let otherDeps: ServiceDeps<'admin'>;
  let other: Express;

  const config = () => request(platform.gateway.url).get('/api/v1/admin/config').set('Authorization', `Bearer ${operator}`);
  const put = (body: object) => request(platform.gateway.url).put('/api/v1/admin/config').set('Authorization', `Bearer ${operator}`).send(body);
  const versions = () => request(platform.gateway.url).get('/api/v1/admin/config/versions').set('Authorization', `Bearer ${operator}`);
  const asOther = () => serviceAuth(otherDeps, 'admin', { adminId: 'other-instance-admin', roles: ['super_admin'] });
  /** A tenant created through the second instance, with no plan given. */
  const createThroughOther = async () => {
    const res = await request(other)
      .post('/api/v1/admin/tenants')
      .set('Authorization', asOther())
      .send({ name: 'Configured', slug: `cfg-${randomBytes(4).toString('hex')}` });
    expect(res.status).toBe(201);
    return res.body.tenant;
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ services: [] });
    operator = await platform.newOperatorToken();
    await platform.deps.admin!.db.query(`INSERT INTO plans (code, name) VALUES ('starter', 'Starter')`);
    await platform.deps.admin!.db.query(
      `INSERT INTO plan_versions (plan_code, version, amount_minor, currency, billing_interval, features) VALUES ('starter', 1, 900, 'USD', 'month', ARRAY['content'])`,
    );
    otherDeps = createTestDeps('admin', platform.bed.db.url, { TENANT_TEMPLATE_DATABASE: platform.bed.template });
    other = createApp(otherDeps);
  });
  afterAll(async () => {
    await closeServiceDeps(otherDeps);
    await platform.close();
  });

  it('when nothing was ever saved, then the defaults are in force as version 0', async () => {
    const res = await config();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      version: 0,
      changedBy: null,
      changedAt: null,
      restoredFrom: null,
      settings: {
        defaultPlan: 'free',
        signupPolicy: 'open',
        passwordPolicy: { minLength: 10 },
        sessions: { accessTokenMinutes: 15, userRefreshDays: 30, adminRefreshHours: 720 },
        mfaRequired: false,
        softDeleteGraceHours: null,
        maintenanceBanner: null,
      },
    });
    expect((await createThroughOther()).plan).toBe('free'); // the other instance has read version 0
  });

  it('when the configuration is invalid, then 400 lists every bad field and nothing is saved', async () => {
    const res = await put({ defaultPlan: 'Not A Plan', softDeleteGraceHours: -1, maintenanceBanner: { message: '' }, surprise: true });
    expect(res.status).toBe(400);
    const paths = (res.body.error.details as Array<{ path: string }>).map((issue) => issue.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['body.defaultPlan', 'body.maintenanceBanner.message', 'body.softDeleteGraceHours']));
    expect(JSON.stringify(res.body.error.details)).toContain('surprise');
    expect((await config()).body.version).toBe(0);
    expect((await versions()).body.items).toEqual([]);
  });

  it('when a new default plan is saved, then another admin instance uses it within 5 s without a restart', async () => {
    const saved = await put({ defaultPlan: 'starter', maintenanceBanner: { message: 'Maintenance tonight 22:00 UTC', level: 'warning' } });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ version: 1, changedBy: expect.any(String), settings: { defaultPlan: 'starter', softDeleteGraceHours: null } });
    const started = Date.now();
    while ((await otherDeps.platformConfig.current()).version !== 1) {
      expect(Date.now() - started).toBeLessThan(IN_FORCE_WITHIN_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await createThroughOther()).plan).toBe('starter');
  });

  it('when the delete grace is set, then a tenant deleted through the other instance gets it', async () => {
    const saved = await put({ softDeleteGraceHours: 2 });
    expect(saved.body.version).toBe(2);
    const started = Date.now();
    while ((await otherDeps.platformConfig.current()).version !== 2) {
      expect(Date.now() - started).toBeLessThan(IN_FORCE_WITHIN_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const tenant = await createThroughOther();
    expect(tenant.plan).toBe('free'); // the whole document was replaced: the default plan is back to its default
    const deleted = await request(other).delete(`/api/v1/admin/tenants/${tenant.id}`).set('Authorization', asOther());
    expect(Date.parse(deleted.body.purgeAfter) - Date.parse(deleted.body.deletedAt)).toBeGreaterThan(2 * 3_600_000 - 5_000);
  });

  it('when an earlier version is rolled back to, then its settings are current as a new version, and the history shows every change', async () => {
    const rolled = await request(platform.gateway.url).post('/api/v1/admin/config/rollback').set('Authorization', `Bearer ${operator}`).send({ version: 1 });
    expect(rolled.status).toBe(200);
    expect(rolled.body).toMatchObject({ version: 3, restoredFrom: 1, settings: { defaultPlan: 'starter', maintenanceBanner: { level: 'warning' } } });
    const history = (await versions()).body.items;
    expect(history.map((item: { version: number }) => item.version)).toEqual([3, 2, 1]);
    expect(history[1].changes).toEqual(
      expect.arrayContaining([
        { path: 'defaultPlan', before: 'starter', after: 'free' },
        { path: 'softDeleteGraceHours', before: null, after: 2 },
      ]),
    );
    const missing = await request(platform.gateway.url).post('/api/v1/admin/config/rollback').set('Authorization', `Bearer ${operator}`).send({ version: 99 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('CONFIG_VERSION_NOT_FOUND');
    const { rows } = await platform.deps.admin!.db.query(`SELECT action FROM audit_log WHERE target_type = 'config' ORDER BY seq`);
    expect(rows.map((row) => row.action)).toEqual(['config.changed', 'config.changed', 'config.rolled_back']);
  });

  it('when the sign-up and password policies change, then new tenants are invite-only and the auth service asks for longer passwords', async () => {
    // Signed up before the policy changes (its owner's 21-character password is set by then).
    const tenant = await platform.newTenant();
    const saved = await put({ signupPolicy: 'invite', passwordPolicy: { minLength: 16 } });
    expect(saved.body.version).toBe(4);
    const auth = platform.deps.auth!;
    const started = Date.now();
    while ((await auth.platformConfig.current()).version !== 4 || (await platform.deps.admin!.platformConfig.current()).version !== 4) {
      expect(Date.now() - started).toBeLessThan(IN_FORCE_WITHIN_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const created = await request(platform.gateway.url)
      .post('/api/v1/admin/tenants')
      .set('Authorization', `Bearer ${operator}`)
      .send({ name: 'Invite only', slug: `inv-${randomBytes(4).toString('hex')}` });
    expect(created.status).toBe(201);
    const signUp = await request(platform.gateway.url)
      .post('/api/v1/auth/register')
      .set('X-API-Key', created.body.apiKey.key)
      .send({ email: 'someone@tenant.example', password: 'a long enough password' });
    expect(signUp.status).toBe(403);
    expect(signUp.body.error.code).toBe('SIGNUP_CLOSED');

    const change = (newPassword: string) => platform.as(tenant).post('/api/v1/auth/password').send({ currentPassword: 'correct horse battery', newPassword });
    const short = await change('twelve chars');
    expect(short.status).toBe(400);
    expect(short.body.error.details).toEqual([{ path: 'body.newPassword', message: 'must be at least 16 characters' }]);
    expect((await change('sixteen characters!')).status).toBe(204);
  });

  it('when a role without system:manage changes it, then 403 naming the permission; readers may read', async () => {
    const support = serviceAuth(otherDeps, 'admin', { adminId: 'support-1', roles: ['support'] });
    const refused = await request(other).put('/api/v1/admin/config').set('Authorization', support).send({ defaultPlan: 'free' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/system:manage/);
    expect((await request(other).get('/api/v1/admin/config').set('Authorization', support)).status).toBe(200);
    expect((await request(other).post('/api/v1/admin/config/rollback').set('Authorization', support).send({ version: 1 })).status).toBe(403);
  });
});
