import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import type { ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { createServiceTestBed, type ServiceTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

describe('content (client service)', () => {
  let testBed: ServiceTestBed<ReturnType<typeof createApp>>;
  let deps: ServiceDeps;
  let app: ReturnType<typeof createApp>;
  let tenantA: string;
  let tenantB: string;
  const editor = randomUUID();

  const sign = (identity: { tenantId: string; userId?: string; roles: string[] }) => serviceAuth(deps, 'client', identity);
  const as = (tenantId: string, role = 'admin') => sign({ tenantId, userId: editor, roles: [role] });
  const publicRead = (tenantId: string, path: string) =>
    request(app)
      .get(`/api/v1/client/public/content/${path}`)
      .set('Authorization', sign({ tenantId, roles: [] }));
  const create = (tenantId: string, body: object) => request(app).post('/api/v1/client/content').set('Authorization', as(tenantId)).send(body);

  beforeAll(async () => {
    testBed = await createServiceTestBed('client', createApp, 2);
    ({ deps, app } = testBed);
    [tenantA, tenantB] = testBed.tenants as [string, string];
  });
  afterAll(() => testBed.close());

  it('when an entry is drafted, published, edited and published again, then the public sees each published version only', async () => {
    const draft = await create(tenantA, { type: 'page', slug: 'about', title: 'About us', bodyFormat: 'markdown', body: '# Hello' });
    expect(draft.status).toBe(201);
    expect(draft.body).toMatchObject({ status: 'draft', version: 1 });
    expect((await publicRead(tenantA, 'page/about')).status).toBe(404);

    expect((await request(app).post(`/api/v1/client/content/${draft.body.id}/publish`).set('Authorization', as(tenantA)).send({})).body.status).toBe(
      'published',
    );
    expect((await publicRead(tenantA, 'page/about')).body).toMatchObject({ title: 'About us', body: '# Hello', version: 1 });

    const edited = await request(app)
      .patch(`/api/v1/client/content/${draft.body.id}`)
      .set('Authorization', as(tenantA))
      .set('If-Match', '"1"')
      .send({ title: 'About Acme' });
    expect(edited.body.version).toBe(2);
    expect((await publicRead(tenantA, 'page/about')).body.title).toBe('About us');
    await request(app).post(`/api/v1/client/content/${draft.body.id}/publish`).set('Authorization', as(tenantA)).send({});
    expect((await publicRead(tenantA, 'page/about')).body).toMatchObject({ title: 'About Acme', version: 2 });

    const versions = await request(app).get(`/api/v1/client/content/${draft.body.id}/versions`).set('Authorization', as(tenantA, 'viewer'));
    expect(versions.body.items.map((v: { version: number; title: string }) => [v.version, v.title])).toEqual([
      [2, 'About Acme'],
      [1, 'About us'],
    ]);
    const stale = await request(app)
      .patch(`/api/v1/client/content/${draft.body.id}`)
      .set('Authorization', as(tenantA))
      .set('If-Match', '"1"')
      .send({ title: 'Lost edit' });
    expect(stale.status).toBe(409);
  });

  it('when publication is scheduled, then the entry stays hidden until its time and then shows', async () => {
    const entry = (await create(tenantA, { type: 'post', slug: 'launch', title: 'Launch', bodyFormat: 'json', body: { blocks: [] } })).body;
    const at = new Date(Date.now() + 1_500).toISOString();
    const scheduled = await request(app).post(`/api/v1/client/content/${entry.id}/publish`).set('Authorization', as(tenantA)).send({ at });
    expect(scheduled.body.status).toBe('scheduled');
    expect((await publicRead(tenantA, 'post/launch')).status).toBe(404);
    await delay(1_700);
    expect((await publicRead(tenantA, 'post/launch')).body).toMatchObject({ title: 'Launch', body: { blocks: [] } });
    await request(app).post(`/api/v1/client/content/${entry.id}/unpublish`).set('Authorization', as(tenantA)).send({});
    expect((await publicRead(tenantA, 'post/launch')).status).toBe(404);
  });

  it("when tenant B reads tenant A's published slug or entry id, then 404", async () => {
    const entry = (await create(tenantA, { type: 'page', slug: 'only-a', title: 'A only', bodyFormat: 'markdown', body: 'secret' })).body;
    await request(app).post(`/api/v1/client/content/${entry.id}/publish`).set('Authorization', as(tenantA)).send({});
    expect((await publicRead(tenantB, 'page/only-a')).status).toBe(404);
    expect((await request(app).get(`/api/v1/client/content/${entry.id}`).set('Authorization', as(tenantB))).status).toBe(404);
    expect((await request(app).post(`/api/v1/client/content/${entry.id}/publish`).set('Authorization', as(tenantB)).send({})).status).toBe(404);
  });

  const bad: Array<[string, object, string]> = [
    ['a slug with a path', { type: 'page', slug: '../etc', title: 't', bodyFormat: 'markdown', body: 'x' }, 'body.slug'],
    ['a JSON body for markdown', { type: 'page', slug: 'ok', title: 't', bodyFormat: 'markdown', body: { a: 1 } }, 'body.body'],
    ['an unknown format', { type: 'page', slug: 'ok', title: 't', bodyFormat: 'html', body: '<p>' }, 'body.bodyFormat'],
  ];
  it.each(bad)('when an entry has %s, then 400', async (_case, body, path) => {
    const res = await create(tenantA, body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('when the slug is taken for the type, then 409; a viewer cannot write (403)', async () => {
    await create(tenantA, { type: 'faq', slug: 'billing', title: 'Billing', bodyFormat: 'markdown', body: 'x' });
    const clash = await create(tenantA, { type: 'faq', slug: 'billing', title: 'Again', bodyFormat: 'markdown', body: 'y' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('CONTENT_SLUG_TAKEN');
    const viewer = await request(app)
      .post('/api/v1/client/content')
      .set('Authorization', as(tenantA, 'viewer'))
      .send({ type: 'faq', slug: 'v', title: 'v', bodyFormat: 'markdown', body: 'v' });
    expect(viewer.status).toBe(403);
  });
});
