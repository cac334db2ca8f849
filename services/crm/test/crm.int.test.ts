import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp as createClientApp } from '../../client/src/app';
import { createApp } from '../src/app';
import { closedPortUrl, listenOnFreePort, type Listening } from '../../../test/support/listen';
import { provisionTestTenant } from '../../../test/support/provisioning';
import { createTestDeps } from '../../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

describe('CRM service (with the real client service over HTTP)', () => {
  let bed: TenantTestBed;
  const allDeps: ServiceDeps[] = [];
  let clientService: Listening;
  let app: ReturnType<typeof createApp>;
  let clientApp: ReturnType<typeof createClientApp>;
  let tenantA: string;
  let tenantB: string;
  const ownerA = randomUUID();
  const memberA = randomUUID();

  const as = (tenantId: string, userId: string, role: string, service: 'crm' | 'client' = 'crm') =>
    serviceAuth(allDeps[0]!, service, { tenantId, userId, roles: [role] });
  const owner = () => as(tenantA, ownerA, 'owner');
  const post = (path: string, body: object, auth = owner()) => request(app).post(`/api/v1/crm${path}`).set('Authorization', auth).send(body);
  const get = (path: string, auth = owner()) => request(app).get(`/api/v1/crm${path}`).set('Authorization', auth);

  async function newClient(tenantId: string, name: string): Promise<string> {
    const res = await request(clientApp)
      .post('/api/v1/client/clients')
      .set('Authorization', as(tenantId, ownerA, 'owner', 'client'))
      .send({ name });
    return res.body.id as string;
  }

  beforeAll(async () => {
    bed = await createTenantTestBed();
    const clientDeps = createTestDeps('client', bed.db.url);
    clientApp = createClientApp(clientDeps);
    clientService = await listenOnFreePort(clientApp);
    const crmDeps = createTestDeps('crm', bed.db.url, { CLIENT_URL: clientService.url });
    allDeps.push(crmDeps, clientDeps);
    app = createApp(crmDeps);
    tenantA = (await provisionTestTenant(crmDeps, bed.template)).tenant.id;
    tenantB = (await provisionTestTenant(crmDeps, bed.template)).tenant.id;
  });
  afterAll(async () => {
    await clientService.close();
    for (const d of allDeps) await closeServiceDeps(d);
    await bed.drop();
  });

  it('when the CRM is first used, then the tenant has a default pipeline with ordered stages', async () => {
    const res = await get('/pipelines');
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({ name: 'Sales', isDefault: true });
    expect(res.body.items[0].stages.map((s: { name: string }) => s.name)).toEqual(['Lead', 'Qualified', 'Proposal', 'Negotiation', 'Won', 'Lost']);
  });

  describe('contacts linked to clients', () => {
    it('when the clientId is a client of this tenant, then 201; of another tenant or unknown, then 400 naming clientId', async () => {
      const mine = await newClient(tenantA, 'Acme');
      const theirs = await newClient(tenantB, 'Other Co');
      expect((await post('/contacts', { firstName: 'Ann', clientId: mine })).status).toBe(201);
      for (const clientId of [theirs, randomUUID()]) {
        const res = await post('/contacts', { firstName: 'Bob', clientId });
        expect(res.status).toBe(400);
        expect(res.body.error.details[0].path).toBe('body.clientId');
      }
    });

    it('when a second live contact would get the same email or external id, then 409 CONTACT_EXISTS (imports match on them)', async () => {
      const first = await post('/contacts', { firstName: 'Uma', email: 'uma@example.com', externalId: 'crm-u1' });
      expect(first.status).toBe(201);
      expect(first.body.externalId).toBe('crm-u1');
      for (const [body, field] of [
        [{ firstName: 'Other', email: 'UMA@example.com' }, 'email'],
        [{ firstName: 'Other', externalId: 'crm-u1' }, 'externalId'],
      ] as const) {
        const res = await post('/contacts', body);
        expect(res.status).toBe(409);
        expect(res.body.error).toMatchObject({ code: 'CONTACT_EXISTS', details: { field } });
      }
      const other = (await post('/contacts', { firstName: 'Vic', email: 'vic@example.com' })).body;
      const clash = await request(app)
        .patch(`/api/v1/crm/contacts/${other.id}`)
        .set('Authorization', owner())
        .send({ email: 'uma@example.com', version: other.version });
      expect(clash.status).toBe(409);
      expect(clash.body.error.code).toBe('CONTACT_EXISTS');
      await request(app).delete(`/api/v1/crm/contacts/${first.body.id}`).set('Authorization', owner());
      expect((await post('/contacts', { firstName: 'Uma again', email: 'uma@example.com' })).status).toBe(201);
    });

    it('when the client service is down, then reads work and writes that need it fail fast with 503', async () => {
      const depsDown = createTestDeps('crm', bed.db.url, { CLIENT_URL: await closedPortUrl() });
      allDeps.push(depsDown);
      const down = createApp(depsDown);
      const clientId = await newClient(tenantA, 'Unreachable');
      const read = await request(down).get('/api/v1/crm/contacts').set('Authorization', owner());
      expect(read.status).toBe(200);
      const write = await request(down).post('/api/v1/crm/contacts').set('Authorization', owner()).send({ firstName: 'Cy', clientId });
      expect(write.status).toBe(503);
      expect(write.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
      const unlinked = await request(down).post('/api/v1/crm/contacts').set('Authorization', owner()).send({ firstName: 'Dee' });
      expect(unlinked.status).toBe(201);
    });
  });

  describe('a client service that lies', () => {
    let liar: Listening;
    let answer: (res: import('node:http').ServerResponse) => void;
    let lied: ReturnType<typeof createApp>;
    beforeAll(async () => {
      liar = await listenOnFreePort((_req, res) => answer(res));
      const liarDeps = createTestDeps('crm', bed.db.url, { CLIENT_URL: liar.url });
      allDeps.push(liarDeps);
      lied = createApp(liarDeps);
    });
    afterAll(() => liar.close());

    it.each([
      ['a redirect', (res: import('node:http').ServerResponse) => res.writeHead(302, { Location: `${clientService.url}/internal/clients/x` }).end()],
      ['broken JSON', (res: import('node:http').ServerResponse) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"id":')],
      ['HTML', (res: import('node:http').ServerResponse) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<h1>ok</h1>')],
      ['JSON of another shape', (res: import('node:http').ServerResponse) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}')],
    ])('when it answers %s about a deal’s client, then 502 UPSTREAM_ERROR and no deal is written', async (_case, respond) => {
      answer = respond;
      const title = `Lied to ${randomUUID()}`;
      const res = await request(lied).post('/api/v1/crm/deals').set('Authorization', owner()).send({ title, currency: 'EUR', clientId: randomUUID() });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('UPSTREAM_ERROR');
      const found = await allDeps[0]!.tenants.withConnection(tenantA, (db) => db.query('SELECT 1 FROM deals WHERE title = $1', [title]));
      expect(found.rowCount).toBe(0);
    });
  });

  describe('deals', () => {
    it('when a deal moves through stages, then history is kept, lost needs a reason, and the summary counts value per stage', async () => {
      const tenant = (await provisionTestTenant(allDeps[0]!, bed.template)).tenant.id;
      const auth = as(tenant, ownerA, 'owner');
      const deal = (await post('/deals', { title: 'Big one', valueMinor: 500_000, currency: 'EUR' }, auth)).body;
      await post('/deals', { title: 'Small one', valueMinor: 1_000, currency: 'EUR' }, auth);
      const pipeline = (await get('/pipelines', auth)).body.items[0];
      const stage = (name: string) => pipeline.stages.find((s: { name: string }) => s.name === name).id as string;
      expect(deal.stageId).toBe(stage('Lead'));

      expect((await post(`/deals/${deal.id}/move`, { stageId: stage('Proposal') }, auth)).body).toMatchObject({
        stageId: stage('Proposal'),
        status: 'open',
        version: 2,
      });
      const noReason = await post(`/deals/${deal.id}/move`, { stageId: stage('Lost') }, auth);
      expect(noReason.status).toBe(400);
      const lost = await post(`/deals/${deal.id}/move`, { stageId: stage('Lost'), lostReason: 'Budget cut' }, auth);
      expect(lost.body).toMatchObject({ status: 'lost', lostReason: 'Budget cut' });
      expect(lost.body.closedAt).not.toBeNull();

      const timeline = (await get(`/deals/${deal.id}/timeline`, auth)).body.items.filter((e: { kind: string }) => e.kind === 'stage');
      expect(timeline.map((e: { detail: { toStageId: string } }) => e.detail.toStageId)).toEqual([stage('Lost'), stage('Proposal'), stage('Lead')]);

      const summary = (await get('/pipeline', auth)).body.stages;
      const byName = Object.fromEntries(summary.map((s: { name: string }) => [s.name, s]));
      expect(byName.Lead).toMatchObject({ count: 1, value: { EUR: 1_000 } });
      expect(byName.Lost).toMatchObject({ count: 1, value: { EUR: 500_000 } });
      expect(byName.Won).toMatchObject({ count: 0, value: {} });
    });

    it('when two edits start from the same version, then the second is 409 VERSION_CONFLICT; an edit naming no version is 428', async () => {
      const deal = (await post('/deals', { title: 'Contested', currency: 'USD' })).body;
      expect(
        (await request(app).patch(`/api/v1/crm/deals/${deal.id}`).set('Authorization', owner()).set('If-Match', '"1"').send({ valueMinor: 10 })).status,
      ).toBe(200);
      const second = await request(app).patch(`/api/v1/crm/deals/${deal.id}`).set('Authorization', owner()).set('If-Match', '"1"').send({ valueMinor: 20 });
      expect(second.status).toBe(409);
      expect((await get(`/deals/${deal.id}`)).body.valueMinor).toBe(10);
      const blind = await request(app).patch(`/api/v1/crm/deals/${deal.id}`).set('Authorization', owner()).send({ valueMinor: 30 });
      expect(blind.status).toBe(428);
    });

    const badDeals: Array<[string, object, string]> = [
      ['a lower-case currency', { title: 't', currency: 'eur' }, 'body.currency'],
      ['a negative value', { title: 't', currency: 'EUR', valueMinor: -1 }, 'body.valueMinor'],
      ['a fractional value', { title: 't', currency: 'EUR', valueMinor: 1.5 }, 'body.valueMinor'],
      ['a bad close date', { title: 't', currency: 'EUR', expectedCloseDate: '31/12/2026' }, 'body.expectedCloseDate'],
      ['no title', { currency: 'EUR' }, 'body.title'],
      ['a stage of no pipeline', { title: 't', currency: 'EUR', stageId: randomUUID() }, 'body.stageId'],
    ];
    it.each(badDeals)('when a deal has %s, then 400 naming the field', async (_case, body, path) => {
      const res = await post('/deals', body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    });
  });

  describe('stages are editable', () => {
    it('when stages are reordered and renamed, then the order holds; removing a stage that holds deals is 409', async () => {
      const tenant = (await provisionTestTenant(allDeps[0]!, bed.template)).tenant.id;
      const auth = as(tenant, ownerA, 'admin');
      const created = await post('/pipelines', { name: 'Renewals', stages: [{ name: 'Due' }, { name: 'Talking' }, { name: 'Renewed', kind: 'won' }] }, auth);
      expect(created.status).toBe(201);
      const [due, talking, renewed] = created.body.stages;
      const reordered = await request(app)
        .put(`/api/v1/crm/pipelines/${created.body.id}/stages`)
        .set('Authorization', auth)
        .send({
          stages: [
            { id: talking.id, name: 'Due' },
            { id: due.id, name: 'Talking' },
            { id: renewed.id, name: 'Renewed', kind: 'won' },
            { name: 'Churned', kind: 'lost' },
          ],
        });
      expect(reordered.status).toBe(200);
      expect(reordered.body.items.map((s: { id: string; name: string }) => [s.id, s.name])).toEqual([
        [talking.id, 'Due'],
        [due.id, 'Talking'],
        [renewed.id, 'Renewed'],
        [expect.any(String), 'Churned'],
      ]);
      await post('/deals', { title: 'Renewal', currency: 'EUR', pipelineId: created.body.id, stageId: due.id }, auth);
      const removing = await request(app)
        .put(`/api/v1/crm/pipelines/${created.body.id}/stages`)
        .set('Authorization', auth)
        .send({ stages: [{ id: talking.id, name: 'Due' }] });
      expect(removing.status).toBe(409);
      expect(removing.body.error.code).toBe('STAGE_IN_USE');
    });
  });

  describe('activities and timelines', () => {
    it('when activities are logged on a contact, then its timeline lists them newest first and tasks can be completed', async () => {
      const contact = (await post('/contacts', { firstName: 'Tim' })).body;
      const call = (await post('/activities', { type: 'call', subject: 'Intro call', contactId: contact.id })).body;
      const task = (await post('/activities', { type: 'task', subject: 'Send quote', dueAt: '2030-01-01T10:00:00Z', contactId: contact.id })).body;
      const done = await post(`/activities/${task.id}/complete`, {});
      expect(done.body.completedAt).not.toBeNull();
      const timeline = (await get(`/contacts/${contact.id}/timeline`)).body.items.map((e: { detail: { id: string } }) => e.detail.id);
      expect(timeline).toEqual([task.id, call.id]);
      expect((await post('/activities', { type: 'note', subject: 'Orphan' })).status).toBe(400);
    });
  });

  describe('permissions and isolation', () => {
    it('when a viewer writes, then 403; a member edits a colleague’s deal, then 403; reads are fine', async () => {
      const deal = (await post('/deals', { title: 'Owner’s', currency: 'EUR' })).body;
      expect((await post('/deals', { title: 'x', currency: 'EUR' }, as(tenantA, memberA, 'viewer'))).status).toBe(403);
      expect((await get(`/deals/${deal.id}`, as(tenantA, memberA, 'viewer'))).status).toBe(200);
      const edit = await request(app)
        .patch(`/api/v1/crm/deals/${deal.id}`)
        .set('Authorization', as(tenantA, memberA, 'member'))
        .send({ title: 'Mine now', version: 1 });
      expect(edit.status).toBe(403);
    });

    it("when tenant B asks for tenant A's deal, contact or timeline, then 404, and B's summary is its own", async () => {
      const deal = (await post('/deals', { title: 'Secret', valueMinor: 99, currency: 'EUR' })).body;
      const contact = (await post('/contacts', { firstName: 'Secret' })).body;
      const b = as(tenantB, randomUUID(), 'owner');
      expect((await get(`/deals/${deal.id}`, b)).status).toBe(404);
      expect((await get(`/contacts/${contact.id}`, b)).status).toBe(404);
      expect((await get(`/deals/${deal.id}/timeline`, b)).status).toBe(404);
      expect((await post(`/deals/${deal.id}/move`, { stageId: deal.stageId }, b)).status).toBe(404);
      const summary = (await get('/pipeline', b)).body.stages;
      expect(summary.reduce((n: number, s: { count: number }) => n + s.count, 0)).toBe(0);
    });
  });
});
