import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { provisionTestTenant } from '../../../test/support/provisioning';
import { createServiceTestBed, type ServiceTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

describe('clients (client service)', () => {
  let testBed: ServiceTestBed<ReturnType<typeof createApp>>;
  let bed: TenantTestBed;
  let deps: ServiceDeps;
  let app: ReturnType<typeof createApp>;
  let tenantA: string;
  let tenantB: string;
  const ownerA = randomUUID();
  const memberA = randomUUID();
  const otherMemberA = randomUUID();

  const as = (tenantId: string, userId: string, role: string) => serviceAuth(deps, 'client', { tenantId, userId, roles: [role] });
  const owner = () => as(tenantA, ownerA, 'owner');
  const create = (auth: string, body: object) => request(app).post('/api/v1/client/clients').set('Authorization', auth).send(body);
  const email = () => `c-${randomBytes(4).toString('hex')}@example.com`;

  beforeAll(async () => {
    testBed = await createServiceTestBed('client', createApp, 2);
    ({ bed, deps, app } = testBed);
    [tenantA, tenantB] = testBed.tenants as [string, string];
  });
  afterAll(() => testBed.close());

  it('when a client is created, then 201 with Location, ETag and the stored fields; reading it gives the same', async () => {
    const res = await create(owner(), {
      name: 'Acme Corp',
      email: email(),
      tags: ['vip', 'vip', 'eu'],
      customFields: { industry: 'steel', seats: 40, active: true },
    });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/client/clients/${res.body.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.body).toMatchObject({ name: 'Acme Corp', kind: 'company', status: 'active', tags: ['vip', 'eu'], ownerId: ownerA, version: 1 });
    const read = await request(app)
      .get(res.headers.location!)
      .set('Authorization', as(tenantA, memberA, 'viewer'));
    expect(read.body).toEqual(res.body);
    const row = await deps.tenants.withConnection(
      tenantA,
      async (c) => (await c.query('SELECT custom_fields FROM clients WHERE id = $1', [res.body.id])).rows[0],
    );
    expect(row.custom_fields).toEqual({ industry: 'steel', seats: 40, active: true });
  });

  const badBodies: Array<[string, object, string]> = [
    ['no name', { email: 'a@example.com' }, 'body.name'],
    ['a bad email', { name: 'x', email: 'not-an-email' }, 'body.email'],
    ['an unknown status', { name: 'x', status: 'gold' }, 'body.status'],
    ['a nested custom field', { name: 'x', customFields: { deep: { a: 1 } } }, 'body.customFields.deep'],
    ['a badly named custom field', { name: 'x', customFields: { 'Bad Name': 1 } }, 'body.customFields.Bad Name'],
    ['an unknown field', { name: 'x', version: 7 }, 'body'],
  ];
  it.each(badBodies)('when the body has %s, then 400 naming the field and nothing is written', async (_case, body, path) => {
    const before = await deps.tenants.withConnection(tenantA, async (c) => (await c.query('SELECT count(*)::int AS n FROM clients')).rows[0].n);
    const res = await create(owner(), body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await deps.tenants.withConnection(tenantA, async (c) => (await c.query('SELECT count(*)::int AS n FROM clients')).rows[0].n)).toBe(before);
  });

  it('when another live client has the email, then 409 CLIENT_EXISTS', async () => {
    const address = email();
    await create(owner(), { name: 'One', email: address });
    const res = await create(owner(), { name: 'Two', email: address.toUpperCase() });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'CLIENT_EXISTS', details: { field: 'email' } });
  });

  describe('optimistic concurrency', () => {
    it('when two updates start from the same version, then the second gets 409 and nothing is lost', async () => {
      const created = (await create(owner(), { name: 'Versioned' })).body;
      const first = await request(app)
        .patch(`/api/v1/client/clients/${created.id}`)
        .set('Authorization', owner())
        .set('If-Match', '"1"')
        .send({ status: 'inactive' });
      expect(first.status).toBe(200);
      expect(first.headers.etag).toBe('"2"');
      const second = await request(app)
        .patch(`/api/v1/client/clients/${created.id}`)
        .set('Authorization', owner())
        .set('If-Match', '"1"')
        .send({ name: 'Overwrite' });
      expect(second.status).toBe(409);
      expect(second.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 2 } });
      const now = await request(app).get(`/api/v1/client/clients/${created.id}`).set('Authorization', owner());
      expect(now.body).toMatchObject({ name: 'Versioned', status: 'inactive', version: 2 });
    });

    it('when an update names no version, then 428', async () => {
      const created = (await create(owner(), { name: 'No version' })).body;
      const res = await request(app).patch(`/api/v1/client/clients/${created.id}`).set('Authorization', owner()).send({ name: 'x' });
      expect(res.status).toBe(428);
    });
  });

  describe('permissions', () => {
    it('when a viewer writes, then 403; when a member edits a colleague’s client, then 403; their own, then 200', async () => {
      expect((await create(as(tenantA, memberA, 'viewer'), { name: 'x' })).status).toBe(403);
      const mine = (await create(as(tenantA, memberA, 'member'), { name: 'Mine' })).body;
      expect(mine.ownerId).toBe(memberA);
      const theirs = await request(app)
        .patch(`/api/v1/client/clients/${mine.id}`)
        .set('Authorization', as(tenantA, otherMemberA, 'member'))
        .send({ name: 'Stolen', version: 1 });
      expect(theirs.status).toBe(403);
      const own = await request(app)
        .patch(`/api/v1/client/clients/${mine.id}`)
        .set('Authorization', as(tenantA, memberA, 'member'))
        .send({ name: 'Still mine', version: 1 });
      expect(own.status).toBe(200);
      const assign = await create(as(tenantA, memberA, 'member'), { name: 'For someone', ownerId: otherMemberA });
      expect(assign.status).toBe(403);
    });
  });

  describe('tenant isolation', () => {
    it("when tenant B reads, changes, deletes or restores tenant A's client, then 404 and A's client is unchanged", async () => {
      const a = (await create(owner(), { name: 'Private to A' })).body;
      const bOwner = as(tenantB, randomUUID(), 'owner');
      expect((await request(app).get(`/api/v1/client/clients/${a.id}`).set('Authorization', bOwner)).status).toBe(404);
      expect((await request(app).patch(`/api/v1/client/clients/${a.id}`).set('Authorization', bOwner).send({ name: 'x', version: 1 })).status).toBe(404);
      expect((await request(app).delete(`/api/v1/client/clients/${a.id}`).set('Authorization', bOwner)).status).toBe(404);
      expect((await request(app).post(`/api/v1/client/clients/${a.id}/restore`).set('Authorization', bOwner)).status).toBe(404);
      const list = await request(app).get('/api/v1/client/clients?q=Private').set('Authorization', bOwner);
      expect(list.body.items).toEqual([]);
      expect((await request(app).get(`/api/v1/client/clients/${a.id}`).set('Authorization', owner())).body).toMatchObject({ name: 'Private to A', version: 1 });
    });
  });

  describe('soft delete and restore', () => {
    it('when a client is deleted, then it leaves lists and reads, shows under deleted=true, and comes back on restore', async () => {
      const c = (await create(owner(), { name: `Deletable ${randomBytes(3).toString('hex')}` })).body;
      expect((await request(app).delete(`/api/v1/client/clients/${c.id}`).set('Authorization', owner()).set('If-Match', '"1"')).status).toBe(204);
      expect((await request(app).get(`/api/v1/client/clients/${c.id}`).set('Authorization', owner())).status).toBe(404);
      const deleted = await request(app)
        .get(`/api/v1/client/clients?deleted=true&q=${encodeURIComponent(c.name)}`)
        .set('Authorization', owner());
      expect(deleted.body.items.map((i: { id: string }) => i.id)).toEqual([c.id]);
      const restored = await request(app).post(`/api/v1/client/clients/${c.id}/restore`).set('Authorization', owner());
      expect(restored.status).toBe(200);
      expect(restored.body.deletedAt).toBeNull();
    });
  });

  describe('search, filters and paging', () => {
    let tenant: string;
    const auth = () => as(tenant, ownerA, 'owner');
    beforeAll(async () => {
      tenant = (await provisionTestTenant(deps, bed.template)).tenant.id;
      const names = ['Alpha Industries', 'alpine tours', 'Beta Labs', 'Gamma Alpha', 'Delta', 'Epsilon', 'Zeta', 'Eta'];
      for (const [i, name] of names.entries()) {
        await request(app)
          .post('/api/v1/client/clients')
          .set('Authorization', auth())
          .send({ name, status: i % 2 ? 'lead' : 'active', tags: i < 3 ? ['eu'] : ['us'] });
      }
    });

    it('when q is a prefix or a word, then matching clients come back case-insensitively', async () => {
      const res = await request(app).get('/api/v1/client/clients?q=alp&sort=name').set('Authorization', auth());
      expect(res.body.items.map((c: { name: string }) => c.name)).toEqual(['Alpha Industries', 'alpine tours']);
      const word = await request(app).get('/api/v1/client/clients?q=alpha&sort=name').set('Authorization', auth());
      expect(word.body.items.map((c: { name: string }) => c.name)).toEqual(['Alpha Industries', 'Gamma Alpha']);
    });

    it('when filtered by status and tag, then only those come back', async () => {
      const res = await request(app).get('/api/v1/client/clients?status=active&tag=eu&sort=name').set('Authorization', auth());
      expect(res.body.items.map((c: { name: string }) => c.name)).toEqual(['Alpha Industries', 'Beta Labs']);
    });

    it('when paged with a cursor, then every client comes exactly once in a stable order', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await request(app)
          .get(`/api/v1/client/clients?sort=name&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
          .set('Authorization', auth());
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((c: { name: string }) => c.name));
        cursor = res.body.nextCursor;
      } while (cursor);
      // Name order is bytewise after lower-casing (one index serves it and prefix search).
      expect(seen).toEqual([...seen].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
      expect(seen).toHaveLength(8);
      const byDate: string[] = [];
      cursor = null;
      do {
        const res: request.Response = await request(app)
          .get(`/api/v1/client/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
          .set('Authorization', auth());
        byDate.push(...res.body.items.map((c: { id: string }) => c.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(new Set(byDate).size).toBe(8);
    });

    it('when the query is malformed, then 400 listing the parameters', async () => {
      const res = await request(app).get('/api/v1/client/clients?limit=1000&sort=random&cursor=garbage&createdFrom=yesterday').set('Authorization', auth());
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['query.createdFrom', 'query.cursor', 'query.limit', 'query.sort']);
    });

    it('when q holds SQL or LIKE wildcards, then they are matched literally', async () => {
      for (const q of ["%' OR 1=1 --", '%', '_']) {
        const res = await request(app)
          .get(`/api/v1/client/clients?q=${encodeURIComponent(q)}`)
          .set('Authorization', auth());
        expect(res.status).toBe(200);
        expect(res.body.items).toEqual([]);
      }
    });
  });

  it('when the call carries no user, then 401', async () => {
    const res = await request(app)
      .get('/api/v1/client/clients')
      .set('Authorization', serviceAuth(deps, 'client', { tenantId: tenantA, roles: [] }));
    expect(res.status).toBe(401);
  });
});
