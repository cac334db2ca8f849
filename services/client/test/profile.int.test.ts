import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { provisionTestTenant } from '../../../test/support/provisioning';
import { createTestDeps } from '../../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

describe('profile (client service)', () => {
  let bed: TenantTestBed;
  let deps: ServiceDeps<'client'>;
  let app: ReturnType<typeof createApp>;
  const users: Record<string, { tenantId: string; userId: string }> = {};

  const as = (who: string) => serviceAuth(deps, 'client', { ...users[who]!, roles: ['viewer'] });

  beforeAll(async () => {
    bed = await createTenantTestBed();
    deps = createTestDeps('client', bed.db.url);
    app = createApp(deps);
    for (const name of ['ann', 'bob']) {
      const tenantId = (await provisionTestTenant(deps, bed.template)).tenant.id;
      const userId = await deps.tenants.withConnection(
        tenantId,
        async (db) => (await db.query(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [`${name}@example.com`])).rows[0].id as string,
      );
      users[name] = { tenantId, userId };
    }
  });
  afterAll(async () => {
    await closeServiceDeps(deps);
    await bed.drop();
  });

  it('when a user never saved a profile, then an empty one comes back', async () => {
    const res = await request(app).get('/api/v1/client/profile').set('Authorization', as('ann'));
    expect(res.body).toEqual({ userId: users.ann!.userId, displayName: null, avatarUrl: null, locale: null, timezone: null, preferences: {} });
  });

  it('when a user changes fields, then only those change and preferences merge', async () => {
    await request(app)
      .patch('/api/v1/client/profile')
      .set('Authorization', as('ann'))
      .send({ displayName: 'Ann', preferences: { theme: 'dark' } });
    const res = await request(app)
      .patch('/api/v1/client/profile')
      .set('Authorization', as('ann'))
      .send({ timezone: 'Europe/Berlin', locale: 'pt-BR', preferences: { digest: 'weekly' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ displayName: 'Ann', timezone: 'Europe/Berlin', locale: 'pt-BR', preferences: { theme: 'dark', digest: 'weekly' } });
  });

  it("when another tenant's user reads their profile, then they see only their own", async () => {
    const res = await request(app).get('/api/v1/client/profile').set('Authorization', as('bob'));
    expect(res.body).toMatchObject({ userId: users.bob!.userId, displayName: null });
  });

  const bad: Array<[string, object, string]> = [
    ['an unknown time zone', { timezone: 'Mars/Olympus' }, 'body.timezone'],
    ['a plain-http avatar', { avatarUrl: 'http://example.com/a.png' }, 'body.avatarUrl'],
    ['a malformed locale', { locale: 'english please' }, 'body.locale'],
    ['nothing to change', {}, 'body'],
  ];
  it.each(bad)('when the change has %s, then 400', async (_case, body, path) => {
    const res = await request(app).patch('/api/v1/client/profile').set('Authorization', as('bob')).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });
});
