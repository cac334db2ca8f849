import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp as createCrmApp } from '../../crm/src/app';
import { createApp } from '../src/app';
import { closedPortUrl, listenOnFreePort, type Listening } from '../../../test/support/listen';
import { provisionTestTenant } from '../../../test/support/provisioning';
import { createTestDeps } from '../../../test/support/service-deps';
import { createTenantTestBed, type TenantTestBed } from '../../../test/support/tenant-test-bed';
import { serviceAuth } from '../../../test/support/service-auth';

/** Contact import and export: the client service reads the file and links clients; the real CRM, over HTTP, writes. */
describe('contact import and export (client service → CRM over HTTP)', () => {
  let bed: TenantTestBed;
  const allDeps: ServiceDeps[] = [];
  let crm: Listening;
  let app: ReturnType<typeof createApp>;
  const ownerId = randomUUID();

  const as = (tenantId: string, role = 'owner') => serviceAuth(allDeps[0]!, 'client', { tenantId, userId: ownerId, roles: [role] });
  const newTenant = async () => (await provisionTestTenant(allDeps[0]!, bed.template)).tenant.id;
  const importFile = (target: ReturnType<typeof createApp>, tenantId: string, format: 'csv' | 'jsonl', body: string, query = '', entity = 'contacts') =>
    request(target)
      .post(`/api/v1/client/import?entity=${entity}&format=${format}${query}`)
      .set('Authorization', as(tenantId))
      .set('Content-Type', format === 'csv' ? 'text/csv' : 'application/x-ndjson')
      .send(body);
  const importContacts = (tenantId: string, format: 'csv' | 'jsonl', body: string, query = '') => importFile(app, tenantId, format, body, query);
  const importClients = (tenantId: string, csv: string) =>
    request(app).post('/api/v1/client/import?format=csv').set('Authorization', as(tenantId)).set('Content-Type', 'text/csv').send(csv);
  const query = <T>(tenantId: string, sql: string) => allDeps[0]!.tenants.withClient(tenantId, async (db) => (await db.query(sql)).rows as T[]);
  const contactCount = async (tenantId: string) => (await query<{ n: number }>(tenantId, 'SELECT count(*)::int AS n FROM contacts WHERE deleted_at IS NULL'))[0]!.n;
  const stagedCount = async (tenantId: string) => (await query<{ n: number }>(tenantId, 'SELECT count(*)::int AS n FROM contact_import_rows'))[0]!.n;
  const exportText = (tenantId: string, entity: 'clients' | 'contacts', format: 'csv' | 'jsonl') =>
    request(app)
      .get(`/api/v1/client/export?entity=${entity}&format=${format}`)
      .set('Authorization', as(tenantId))
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      });

  const CLIENTS = ['externalId,name,email', 'acme,Acme,hello@acme.example', ',Globex,info@globex.example', ',Initech,'].join('\n');

  beforeAll(async () => {
    bed = await createTenantTestBed();
    const crmDeps = createTestDeps('crm', bed.db.url);
    crm = await listenOnFreePort(createCrmApp(crmDeps));
    const clientDeps = createTestDeps('client', bed.db.url, { CRM_URL: crm.url });
    allDeps.push(clientDeps, crmDeps);
    app = createApp(clientDeps);
  });
  afterAll(async () => {
    await crm.close();
    for (const d of allDeps) await closeServiceDeps(d);
    await bed.drop();
  });

  it('when a CSV of contacts names clients by external id, email or id, then each links to its client and bad rows are reported by line', async () => {
    const tenant = await newTenant();
    await importClients(tenant, CLIENTS);
    const [initech] = await query<{ id: string }>(tenant, `SELECT id FROM clients WHERE name = 'Initech'`);
    const csv = [
      'externalId,firstName,lastName,email,title,clientExternalId,clientEmail,clientId',
      `c-1,Ann,Archer,ann@acme.example,CEO,acme,,`,
      `c-2,Bob,Baker,bob@globex.example,,,INFO@globex.example,`,
      `c-3,Cy,Cole,,,,,${initech!.id}`,
      `c-4,Dee,Dunn,dee@example.com,,no-such-client,,`,
      `c-5,Eve,,not-an-email,,,,`,
      `c-6,,,,,,,`,
      `c-7,Too,many,columns,in,this,row,here,too,x`,
      `,Fay,Fox,fay@example.com,,,,`,
    ].join('\n');
    const res = await importContacts(tenant, 'csv', csv);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ entity: 'contacts', status: 'completed', rowsRead: 8, rowsInserted: 4, rowsUpdated: 0, rowsFailed: 4 });
    const errors = res.body.errors as Array<{ line: number; field?: string; message: string }>;
    expect(errors.map((e) => e.line)).toEqual([5, 6, 7, 8]);
    expect(errors.find((e) => e.line === 5)).toMatchObject({ field: 'clientExternalId' });
    expect(errors.find((e) => e.line === 6)).toMatchObject({ field: 'email' });
    expect(errors.find((e) => e.line === 7)?.message).toBe('a contact needs a name or an email');
    expect(errors.find((e) => e.line === 8)?.message).toMatch(/^malformed CSV line/);
    const linked = await query<{ external_id: string; client: string | null }>(
      tenant,
      `SELECT c.external_id, k.name AS client FROM contacts c LEFT JOIN clients k ON k.id = c.client_id ORDER BY c.first_name`,
    );
    expect(linked).toEqual([
      { external_id: 'c-1', client: 'Acme' },
      { external_id: 'c-2', client: 'Globex' },
      { external_id: 'c-3', client: 'Initech' },
      { external_id: null, client: null },
    ]);
  });

  it('when the same file is imported again, then nothing is duplicated: contacts upsert by external id, else email', async () => {
    const tenant = await newTenant();
    const lines = [
      { externalId: 'p-1', firstName: 'Pat', email: 'pat@example.com' },
      { firstName: 'Quinn', email: 'quinn@example.com' },
      { firstName: 'Nameless only' },
    ].map((r) => JSON.stringify(r));
    expect((await importContacts(tenant, 'jsonl', lines.join('\n'))).body).toMatchObject({ rowsInserted: 3, rowsFailed: 0 });
    const again = await importContacts(tenant, 'jsonl', lines.slice(0, 2).join('\n'));
    expect(again.body).toMatchObject({ status: 'completed', rowsInserted: 0, rowsUpdated: 2 });
    expect(await contactCount(tenant)).toBe(3);
    // A row matched by email alone keeps the contact's external id.
    await importContacts(tenant, 'csv', 'email,firstName\nPAT@example.com,Patricia\n');
    expect(await query(tenant, `SELECT external_id, first_name FROM contacts WHERE lower(email) = 'pat@example.com'`)).toEqual([{ external_id: 'p-1', first_name: 'Patricia' }]);
  });

  it('when JSON lines span several batches with repeated contacts, then later lines update earlier ones in file order', async () => {
    const tenant = await newTenant();
    const lines = Array.from({ length: 1_200 }, (_, i) => JSON.stringify({ externalId: `b-${i % 1_000}`, firstName: `Person ${i}` }));
    const res = await importContacts(tenant, 'jsonl', lines.join('\n'));
    expect(res.body).toMatchObject({ status: 'completed', rowsRead: 1_200, rowsInserted: 1_000, rowsUpdated: 200, rowsFailed: 0 });
    expect((await query<{ first_name: string }>(tenant, `SELECT first_name FROM contacts WHERE external_id = 'b-7'`))[0]!.first_name).toBe('Person 1007');
  });

  it('when two rows give different contacts the same email, then the database refuses only the second row', async () => {
    const tenant = await newTenant();
    const csv = ['externalId,firstName,email', 'd-1,Ann,same@example.com', 'd-2,Bob,SAME@example.com', 'd-3,Cy,cy@example.com'].join('\n');
    const res = await importContacts(tenant, 'csv', csv);
    expect(res.body).toMatchObject({ status: 'completed', rowsInserted: 2, rowsFailed: 1, errors: [{ line: 3, message: 'another contact already has this email or external id' }] });
  });

  describe('atomic=true', () => {
    it('when a row is invalid, then 422, no contact is written and nothing is left staged', async () => {
      const tenant = await newTenant();
      const res = await importContacts(tenant, 'csv', 'firstName,email\nAnn,ann@example.com\nBob,not-an-email\n', '&atomic=true');
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'IMPORT_REJECTED', details: { rowsFailed: 1 } });
      expect(await contactCount(tenant)).toBe(0);
      expect(await stagedCount(tenant)).toBe(0);
    });

    it('when the database refuses a row at commit, then 422 naming its line, and no contact is written', async () => {
      const tenant = await newTenant();
      const rows = Array.from({ length: 700 }, (_, i) => `a-${i},Person ${i},p${i}@example.com`);
      rows.push('a-dup,Clash,p3@example.com');
      const res = await importContacts(tenant, 'csv', `externalId,firstName,email\n${rows.join('\n')}\n`, '&atomic=true');
      expect(res.status).toBe(422);
      expect(res.body.error.details.errors).toEqual([{ line: 702, message: 'another contact already has this email or external id' }]);
      const job = await request(app).get(`/api/v1/client/import/${res.body.error.details.jobId}`).set('Authorization', as(tenant));
      expect(job.body).toMatchObject({ entity: 'contacts', status: 'failed', rowsInserted: 0, rowsFailed: 1 });
      expect(await contactCount(tenant)).toBe(0);
      expect(await stagedCount(tenant)).toBe(0);
    });

    it('when every row is good, then all are written at once (across batches), nothing is left staged, and all export again', async () => {
      const tenant = await newTenant();
      const rows = Array.from({ length: 1_100 }, (_, i) => JSON.stringify({ externalId: `g-${i}`, lastName: `Good ${i}` }));
      const res = await importContacts(tenant, 'jsonl', rows.join('\n'), '&atomic=true');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'completed', rowsInserted: 1_100, rowsFailed: 0 });
      expect(await contactCount(tenant)).toBe(1_100);
      expect(await stagedCount(tenant)).toBe(0);
      // The export reads them back from the CRM over three pages.
      const exported = (await exportText(tenant, 'contacts', 'csv')).body as string;
      const lastNames = exported.trim().split('\n').slice(1).map((line) => line.split(',')[2]);
      expect(new Set(lastNames).size).toBe(1_100);
    });
  });

  it("when tenant A names tenant B's client, or B imports the same external ids, then A never touches B's data", async () => {
    const a = await newTenant();
    const b = await newTenant();
    await importClients(b, 'externalId,name\nb-only,B Client\n');
    const [theirs] = await query<{ id: string }>(b, `SELECT id FROM clients WHERE external_id = 'b-only'`);
    const res = await importContacts(a, 'csv', `externalId,firstName,clientExternalId,clientId\nx-1,Ann,b-only,\nx-2,Bob,,${theirs!.id}\n`);
    expect(res.body).toMatchObject({ rowsInserted: 0, rowsFailed: 2 });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['clientExternalId', 'clientId']);
    await importContacts(b, 'csv', 'externalId,firstName\nx-1,Belongs to B\n');
    await importContacts(a, 'csv', 'externalId,firstName\nx-1,Belongs to A\n');
    expect(await query(b, `SELECT first_name FROM contacts`)).toEqual([{ first_name: 'Belongs to B' }]);
    await importContacts(a, 'csv', 'externalId,firstName\nx-2,Deleted in A\n');
    await query(a, `UPDATE contacts SET deleted_at = now() WHERE external_id = 'x-2'`);
    const exported = await exportText(a, 'contacts', 'jsonl');
    expect((exported.body as string).trim().split('\n').map((line) => JSON.parse(line).firstName)).toEqual(['Belongs to A']);
  });

  it('when contacts and clients are exported and imported into a fresh tenant, then the contacts and their client links are identical (CSV and JSON lines)', async () => {
    const source = await newTenant();
    await importClients(source, CLIENTS);
    await importContacts(
      source,
      'jsonl',
      [
        { externalId: 'r-1', firstName: 'Ann', lastName: 'Archer', email: 'ann@acme.example', phone: '+1 555', title: '=cmd|calc', ownerId, clientExternalId: 'acme' },
        { firstName: 'Bob', email: 'bob@globex.example', clientEmail: 'info@globex.example' },
        { firstName: 'Cy', lastName: '@risky' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const snapshot = (tenantId: string) =>
      query(
        tenantId,
        `SELECT c.external_id, c.first_name, c.last_name, c.email, c.phone, c.title, c.owner_id, k.external_id AS client_external_id, k.email AS client_email
           FROM contacts c LEFT JOIN clients k ON k.id = c.client_id ORDER BY c.first_name`,
      );
    for (const format of ['csv', 'jsonl'] as const) {
      const clients = await exportText(source, 'clients', format);
      const contacts = await exportText(source, 'contacts', format);
      expect(contacts.status).toBe(200);
      expect(contacts.headers['content-disposition']).toBe(`attachment; filename="contacts.${format}"`);
      if (format === 'csv') expect(contacts.body).toContain(`'=cmd|calc`);
      const target = await newTenant();
      expect((await importFile(app, target, format, clients.body as string, '', 'clients')).status).toBe(201);
      const imported = await importContacts(target, format, contacts.body as string);
      expect(imported.body).toMatchObject({ status: 'completed', rowsFailed: 0, rowsInserted: 3 });
      expect(await snapshot(target)).toEqual(await snapshot(source));
    }
  });

  it('when the CRM is down, then the import answers 503 UPSTREAM_UNAVAILABLE and its job is marked failed', async () => {
    const tenant = await newTenant();
    const downDeps = createTestDeps('client', bed.db.url, { CRM_URL: await closedPortUrl() });
    allDeps.push(downDeps);
    const down = createApp(downDeps);
    const res = await importFile(down, tenant, 'csv', 'firstName\nAnn\n');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    const [job] = await query<{ status: string; entity: string }>(tenant, 'SELECT status, entity FROM import_jobs');
    expect(job).toEqual({ status: 'failed', entity: 'contacts' });
  });

  describe("the CRM's internal import routes", () => {
    const crmToken = (tenantId: string, caller: 'client' | 'gateway', role = 'owner') =>
      serviceAuth(allDeps[0]!, 'crm', { tenantId, userId: ownerId, roles: [role] }, caller);

    it('when the gateway, or a member relayed by the client service, calls them, then 403 and nothing is written', async () => {
      const tenant = await newTenant();
      const body = { records: [{ line: 2, record: { firstName: 'Sneaky' } }] };
      const fromGateway = await request(crm.url).post('/internal/contacts/import').set('Authorization', crmToken(tenant, 'gateway')).send(body);
      expect(fromGateway.status).toBe(403);
      expect(fromGateway.body.error.code).toBe('CALLER_NOT_ALLOWED');
      const member = await request(crm.url).post('/internal/contacts/import').set('Authorization', crmToken(tenant, 'client', 'member')).send(body);
      expect(member.status).toBe(403);
      expect(await contactCount(tenant)).toBe(0);
    });

    it('when a batch is malformed, then 400 listing the fields', async () => {
      const tenant = await newTenant();
      for (const body of [{ records: [] }, { records: [{ line: 0, record: {} }] }, { records: 'x' }, { records: [{ line: 2, record: {} }], extra: 1 }]) {
        const res = await request(crm.url).post('/internal/contacts/import').set('Authorization', crmToken(tenant, 'client')).send(body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      }
      const badId = await request(crm.url).post('/internal/contacts/imports/not-a-uuid/commit').set('Authorization', crmToken(tenant, 'client'));
      expect(badId.status).toBe(400);
    });
  });
});
