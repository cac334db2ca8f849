import { closedPortUrl } from '../../../test/support/listen';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from '../../../test/support/platform';

/**
 * Contact import and export, owned by the CRM end to end, through the real
 * gateway: the CRM reads the file, resolves client links with one lookup per
 * batch in the client service (CRM → client only), validates and writes.
 */
describe('contact import and export (gateway → CRM → client service)', () => {
  let platform: TestPlatform;

  const importFile = (tenant: PlatformTenant, path: string, format: 'csv' | 'jsonl', body: string, query = '') =>
    platform
      .as(tenant)
      .post(`${path}?format=${format}${query}`)
      .set('Content-Type', format === 'csv' ? 'text/csv' : 'application/x-ndjson')
      .send(body);
  const importContacts = (tenant: PlatformTenant, format: 'csv' | 'jsonl', body: string, query = '') =>
    importFile(tenant, '/api/v1/crm/import', format, body, query);
  const importClients = (tenant: PlatformTenant, body: string, format: 'csv' | 'jsonl' = 'csv') => importFile(tenant, '/api/v1/client/import', format, body);
  const exportText = (tenant: PlatformTenant, path: string, format: 'csv' | 'jsonl') =>
    platform
      .as(tenant)
      .get(`${path}?format=${format}`)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      });
  const contactCount = async (tenant: PlatformTenant) =>
    (await platform.query<{ n: number }>(tenant.id, 'SELECT count(*)::int AS n FROM contacts WHERE deleted_at IS NULL'))[0]!.n;

  const CLIENTS = ['externalId,name,email', 'acme,Acme,hello@acme.example', ',Globex,info@globex.example', ',Initech,'].join('\n');

  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('when a CSV of contacts names clients by external id, email or id, then each links to its client and bad rows are reported by line', async () => {
    const tenant = await platform.newTenant();
    expect((await importClients(tenant, CLIENTS)).status).toBe(201);
    const [initech] = await platform.query<{ id: string }>(tenant.id, `SELECT id FROM clients WHERE name = 'Initech'`);
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
    expect(res.headers.location).toBe(`/api/v1/crm/import/${res.body.id}`);
    expect(res.body).toMatchObject({ entity: 'contacts', status: 'completed', rowsRead: 8, rowsInserted: 4, rowsUpdated: 0, rowsFailed: 4 });
    const errors = res.body.errors as Array<{ line: number; field?: string; message: string }>;
    expect(errors.map((e) => e.line)).toEqual([5, 6, 7, 8]);
    expect(errors.find((e) => e.line === 5)).toMatchObject({ field: 'clientExternalId', message: 'no such client' });
    expect(errors.find((e) => e.line === 6)).toMatchObject({ field: 'email' });
    expect(errors.find((e) => e.line === 7)?.message).toBe('a contact needs a name or an email');
    expect(errors.find((e) => e.line === 8)?.message).toMatch(/^malformed CSV line/);
    const linked = await platform.query(
      tenant.id,
      `SELECT c.external_id, k.name AS client FROM contacts c LEFT JOIN clients k ON k.id = c.client_id ORDER BY c.first_name`,
    );
    expect(linked).toEqual([
      { external_id: 'c-1', client: 'Acme' },
      { external_id: 'c-2', client: 'Globex' },
      { external_id: 'c-3', client: 'Initech' },
      { external_id: null, client: null },
    ]);
    // Metrics: the job and its rows are counted, the client-service breaker and the pools are visible.
    const metrics = await (await fetch(`${platform.services.crm!.url}/metrics`)).text();
    expect(metrics).toMatch(/import_jobs_total\{entity="contacts",status="completed",service="crm"\} [1-9]/);
    expect(metrics).toMatch(/import_rows_total\{entity="contacts",result="inserted",service="crm"\} [1-9]/);
    expect(metrics).toMatch(/upstream_breaker_state\{upstream="client",service="crm"\} 0/);
    expect(metrics).toMatch(/tenant_pool_cache\{measure="pools",service="crm"\} [1-9]/);
    // The job is the CRM's: listed and readable there, not in the client service.
    expect((await platform.as(tenant).get(`/api/v1/crm/import/${res.body.id}`)).body).toMatchObject({ id: res.body.id, rowsFailed: 4 });
    expect((await platform.as(tenant).get('/api/v1/crm/import')).body.items.map((j: { id: string }) => j.id)).toEqual([res.body.id]);
    expect((await platform.as(tenant).get(`/api/v1/client/import/${res.body.id}`)).status).toBe(404);
  });

  it('when the same file is imported again, then nothing is duplicated: contacts upsert by external id, else email', async () => {
    const tenant = await platform.newTenant();
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
    expect(await platform.query(tenant.id, `SELECT external_id, first_name FROM contacts WHERE lower(email) = 'pat@example.com'`)).toEqual([
      { external_id: 'p-1', first_name: 'Patricia' },
    ]);
  });

  it('when JSON lines span several batches with repeated contacts, then later lines update earlier ones in file order', async () => {
    const tenant = await platform.newTenant();
    const lines = Array.from({ length: 1_200 }, (_, i) => JSON.stringify({ externalId: `b-${i % 1_000}`, firstName: `Person ${i}` }));
    const res = await importContacts(tenant, 'jsonl', lines.join('\n'));
    expect(res.body).toMatchObject({ status: 'completed', rowsRead: 1_200, rowsInserted: 1_000, rowsUpdated: 200, rowsFailed: 0 });
    expect((await platform.query<{ first_name: string }>(tenant.id, `SELECT first_name FROM contacts WHERE external_id = 'b-7'`))[0]!.first_name).toBe(
      'Person 1007',
    );
  });

  it('when two rows give different contacts the same email, then the database refuses only the second row', async () => {
    const tenant = await platform.newTenant();
    const csv = ['externalId,firstName,email', 'd-1,Ann,same@example.com', 'd-2,Bob,SAME@example.com', 'd-3,Cy,cy@example.com'].join('\n');
    const res = await importContacts(tenant, 'csv', csv);
    expect(res.body).toMatchObject({
      status: 'completed',
      rowsInserted: 2,
      rowsFailed: 1,
      errors: [{ line: 3, message: 'another contact already has this email or external id' }],
    });
  });

  it.each([
    ['csv', (name: string) => name],
    ['jsonl', (name: string) => JSON.stringify({ firstName: name })],
  ] as const)(
    'when a %s file has a record over the line limit (1.1 MB, then 8 MB), then that line alone fails, once, and the rows after it are imported',
    async (format, row) => {
      const tenant = await platform.newTenant();
      const lines = [
        ...(format === 'csv' ? ['firstName'] : []),
        row('first'),
        row('x'.repeat(1_100_000)),
        row('after'),
        row('y'.repeat(8_000_000)),
        row('last'),
      ];
      const res = await importContacts(tenant, format, `${lines.join('\n')}\n`);
      expect(res.status).toBe(201);
      const offset = format === 'csv' ? 1 : 0;
      expect(res.body).toMatchObject({ rowsRead: 5, rowsInserted: 3, rowsFailed: 2 });
      expect(res.body.errors).toEqual([
        { line: 2 + offset, message: 'the line is longer than 1048576 bytes' },
        { line: 4 + offset, message: 'the line is longer than 1048576 bytes' },
      ]);
      expect((await platform.query<{ first_name: string }>(tenant.id, 'SELECT first_name FROM contacts ORDER BY first_name')).map((r) => r.first_name)).toEqual(
        ['after', 'first', 'last'],
      );
    },
  );

  describe('atomic=true', () => {
    it('when a row is invalid, then 422 and no contact is written', async () => {
      const tenant = await platform.newTenant();
      const res = await importContacts(tenant, 'csv', 'firstName,email\nAnn,ann@example.com\nBob,not-an-email\n', '&atomic=true');
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'IMPORT_REJECTED', details: { rowsFailed: 1 } });
      expect(await contactCount(tenant)).toBe(0);
    });

    it('when the database refuses a row in a later batch, then 422 naming its line, and no contact is written', async () => {
      const tenant = await platform.newTenant();
      const rows = Array.from({ length: 700 }, (_, i) => `a-${i},Person ${i},p${i}@example.com`);
      rows.push('a-dup,Clash,p3@example.com');
      const res = await importContacts(tenant, 'csv', `externalId,firstName,email\n${rows.join('\n')}\n`, '&atomic=true');
      expect(res.status).toBe(422);
      expect(res.body.error.details.errors).toEqual([{ line: 702, message: 'another contact already has this email or external id' }]);
      const job = await platform.as(tenant).get(`/api/v1/crm/import/${res.body.error.details.jobId}`);
      expect(job.body).toMatchObject({ entity: 'contacts', status: 'failed', rowsInserted: 0, rowsFailed: 1 });
      expect(await contactCount(tenant)).toBe(0);
    });

    it('when every row is good, then all are written at once (across batches), and all export again', async () => {
      const tenant = await platform.newTenant();
      const rows = Array.from({ length: 1_100 }, (_, i) => JSON.stringify({ externalId: `g-${i}`, lastName: `Good ${i}` }));
      const res = await importContacts(tenant, 'jsonl', rows.join('\n'), '&atomic=true');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'completed', rowsInserted: 1_100, rowsFailed: 0 });
      expect(await contactCount(tenant)).toBe(1_100);
      const exported = (await exportText(tenant, '/api/v1/crm/export', 'csv')).body as string;
      const lastNames = exported
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',')[2]);
      expect(new Set(lastNames).size).toBe(1_100);
    });
  });

  it("when tenant A names tenant B's client, or B imports the same external ids, then A never touches B's data", async () => {
    const a = await platform.newTenant();
    const b = await platform.newTenant();
    await importClients(b, 'externalId,name\nb-only,B Client\n');
    const [theirs] = await platform.query<{ id: string }>(b.id, `SELECT id FROM clients WHERE external_id = 'b-only'`);
    const res = await importContacts(a, 'csv', `externalId,firstName,clientExternalId,clientId\nx-1,Ann,b-only,\nx-2,Bob,,${theirs!.id}\n`);
    expect(res.body).toMatchObject({ rowsInserted: 0, rowsFailed: 2 });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['clientExternalId', 'clientId']);
    await importContacts(b, 'csv', 'externalId,firstName\nx-1,Belongs to B\n');
    await importContacts(a, 'csv', 'externalId,firstName\nx-1,Belongs to A\n');
    expect(await platform.query(b.id, `SELECT first_name FROM contacts`)).toEqual([{ first_name: 'Belongs to B' }]);
    await importContacts(a, 'csv', 'externalId,firstName\nx-2,Deleted in A\n');
    await platform.query(a.id, `UPDATE contacts SET deleted_at = now() WHERE external_id = 'x-2'`);
    const exported = await exportText(a, '/api/v1/crm/export', 'jsonl');
    expect(
      (exported.body as string)
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).firstName),
    ).toEqual(['Belongs to A']);
    // A's key with B's owner token is refused at the gateway; B's job ids are not A's.
    expect((await platform.as(a, b.token).get('/api/v1/crm/import')).status).toBe(403);
  });

  it('when contacts and clients are exported and imported into a fresh tenant, then the contacts and their client links are identical (CSV and JSON lines)', async () => {
    const source = await platform.newTenant();
    await importClients(source, CLIENTS);
    await importContacts(
      source,
      'jsonl',
      [
        {
          externalId: 'r-1',
          firstName: 'Ann',
          lastName: 'Archer',
          email: 'ann@acme.example',
          phone: '+1 555',
          title: '=cmd|calc',
          ownerId: source.ownerId,
          clientExternalId: 'acme',
        },
        { firstName: 'Bob', email: 'bob@globex.example', clientEmail: 'info@globex.example' },
        { firstName: 'Cy', lastName: '@risky' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const snapshot = (tenantId: string) =>
      platform.query(
        tenantId,
        `SELECT c.external_id, c.first_name, c.last_name, c.email, c.phone, c.title, k.external_id AS client_external_id, k.email AS client_email
           FROM contacts c LEFT JOIN clients k ON k.id = c.client_id ORDER BY c.first_name`,
      );
    for (const format of ['csv', 'jsonl'] as const) {
      const clients = await exportText(source, '/api/v1/client/export', format);
      const contacts = await exportText(source, '/api/v1/crm/export', format);
      expect(contacts.status).toBe(200);
      expect(contacts.headers['content-disposition']).toBe(`attachment; filename="contacts.${format}"`);
      if (format === 'csv') expect(contacts.body).toContain(`'=cmd|calc`);
      const target = await platform.newTenant();
      expect((await importClients(target, clients.body as string, format)).status).toBe(201);
      const imported = await importContacts(target, format, contacts.body as string);
      expect(imported.body).toMatchObject({ status: 'completed', rowsFailed: 0, rowsInserted: 3 });
      expect(await snapshot(target.id)).toEqual(await snapshot(source.id));
    }
  });

  it('when the client service asks for contacts (the old route), then 400 points to the CRM; the client service never calls the CRM', async () => {
    const tenant = await platform.newTenant();
    const res = await importFile(tenant, '/api/v1/client/import', 'csv', 'firstName\nAnn\n', '&entity=contacts');
    expect(res.status).toBe(400);
    expect(res.body.error.details[0]).toMatchObject({ path: 'query.entity', message: 'this route imports and exports clients only' });
  });

  it('when a member or a viewer imports or exports, then 403 and nothing is written', async () => {
    const tenant = await platform.newTenant();
    const invited = await platform.as(tenant).post('/api/v1/auth/users').send({ email: 'member@tenant.example', role: 'member' });
    const accepted = await platform
      .as(tenant)
      .post('/api/v1/auth/invitations/accept')
      .send({ token: invited.body.invitationToken, password: 'correct horse battery' });
    const member = platform.as(tenant, accepted.body.accessToken);
    expect((await member.post('/api/v1/crm/import?format=csv').set('Content-Type', 'text/csv').send('firstName\nAnn\n')).status).toBe(403);
    expect((await member.get('/api/v1/crm/export?format=csv')).status).toBe(403);
    expect(await contactCount(tenant)).toBe(0);
  });

  it('when the file is not in the named format, or the query is malformed, then 415 or 400 and no job is made', async () => {
    const tenant = await platform.newTenant();
    expect((await importContacts(tenant, 'csv', '{"firstName":"Ann"}').set('Content-Type', 'application/json')).status).toBe(415);
    expect((await platform.as(tenant).post('/api/v1/crm/import?format=xml').set('Content-Type', 'text/csv').send('a\n')).status).toBe(400);
    expect((await platform.as(tenant).get('/api/v1/crm/import/not-a-uuid')).status).toBe(400);
    expect(await platform.query(tenant.id, 'SELECT id FROM import_jobs')).toEqual([]);
  });

  it('when the client service is down, then a contact import that links clients fails 503 UPSTREAM_UNAVAILABLE and its job reads failed', async () => {
    const down = await startTestPlatform({ env: { crm: { CLIENT_URL: await closedPortUrl() } } });
    try {
      const tenant = await down.newTenant();
      const res = await down.as(tenant).post('/api/v1/crm/import?format=csv').set('Content-Type', 'text/csv').send('firstName,clientExternalId\nAnn,acme\n');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(await down.query(tenant.id, 'SELECT status, entity FROM import_jobs')).toEqual([{ status: 'failed', entity: 'contacts' }]);
      expect(await down.query(tenant.id, 'SELECT id FROM contacts')).toEqual([]);
    } finally {
      await down.close();
    }
  });
});
