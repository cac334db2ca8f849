import fc from 'fast-check';
import request from 'supertest';
import { DOCUMENT, type DocumentedOperation, OPERATIONS, withCredentials } from './support/documented-operations';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from './support/platform';
import { arbitraryFor, corruptOneLeaf, HOSTILE_VALUES } from './support/schema-arbitrary';

/**
 * One request for an operation: path, query and body drawn from the
 * operation's own schemas (so most of it passes validation and reaches the
 * domain and the database), then, in most runs, one leaf replaced by a value
 * no schema expects.
 */
function requestFor(operation: DocumentedOperation) {
  const components = DOCUMENT.components.schemas;
  const parameters = (where: 'path' | 'query') => {
    const declared = (operation.parameters ?? []).filter((p) => p.in === where);
    return fc.record(Object.fromEntries(declared.map((p) => [p.name, arbitraryFor(p.schema, components)])), {
      requiredKeys: declared.filter((p) => p.required || where === 'path').map((p) => p.name),
    });
  };
  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  return fc.record({
    path: parameters('path'),
    query: parameters('query'),
    body: bodySchema ? arbitraryFor(bodySchema, components) : fc.constant(undefined),
    corrupt: fc.option(fc.record({ part: fc.constantFrom('path', 'query', 'body'), leaf: fc.nat(), value: fc.constantFrom(...HOSTILE_VALUES) }), { freq: 4 }),
  });
}

/**
 * Input no schema expected, through the real gateway to the real services:
 * the cases a black-box suite found answering 500, then a seeded fuzz of
 * every documented operation. Every answer is below 500 and, when an error,
 * the standard body.
 */
describe('hostile input through the gateway', () => {
  let platform: TestPlatform;
  let tenant: PlatformTenant;
  let adminToken: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['crm', 'client', 'billing', 'subscription'] });
    tenant = await platform.newTenant();
    adminToken = await platform.newOperatorToken();
  });
  afterAll(async () => {
    await platform.close();
  });

  const expectStandardRefusal = (res: request.Response, field?: string) => {
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', requestId: expect.any(String) });
    if (field) expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
  };

  it.each([
    [
      'a NUL in the name at sign-up',
      () =>
        request(platform.gateway.url)
          .post('/api/v1/auth/register')
          .set('X-API-Key', tenant.key)
          .send({ email: 'nul@x.example', password: 'correct horse battery', name: 'a\u0000b' }),
      'body.name',
    ],
    ["a NUL in a client's name", () => platform.as(tenant).post('/api/v1/client/clients').send({ name: 'Acme\u0000' }), 'body.name'],
    ['a NUL in a search', () => platform.as(tenant).get('/api/v1/client/clients').query({ q: 'ac\u0000me' }), 'query.q'],
    [
      'a NUL in profile preferences',
      () =>
        platform
          .as(tenant)
          .patch('/api/v1/client/profile')
          .send({ preferences: { theme: 'dark\u0000' } }),
      'body.preferences.theme',
    ],
    [
      'a NUL in a JSON content body',
      () =>
        platform
          .as(tenant)
          .post('/api/v1/client/content')
          .send({ type: 'page', slug: 'nul', title: 'T', bodyFormat: 'json', body: { text: '\u0000' } }),
      'body.body.text',
    ],
    [
      'a created-from date JavaScript cannot hold',
      () => platform.as(tenant).get('/api/v1/client/clients').query({ createdFrom: '-271821-04-20T00:00:00.000Z' }),
      'query.createdFrom',
    ],
    [
      'a deal closing in year 0',
      () => platform.as(tenant).post('/api/v1/crm/deals').send({ title: 'T', currency: 'EUR', expectedCloseDate: '0000-01-01' }),
      'body.expectedCloseDate',
    ],
    [
      'an activity due at a number',
      () =>
        platform
          .as(tenant)
          .post('/api/v1/crm/activities')
          .send({ type: 'task', subject: 'S', dealId: '00000000-0000-4000-8000-000000000000', dueAt: -8.64e15 }),
      'body.dueAt',
    ],
    [
      'a time range of two non-dates (the range check must not see them)',
      () =>
        request(platform.gateway.url)
          .get('/api/v1/admin/services/gateway/history')
          .query({ from: '_4', to: 'Kz' })
          .set('Authorization', `Bearer ${adminToken}`),
      'query.from',
    ],
    [
      'publishing in year -200000',
      () => platform.as(tenant).post('/api/v1/client/content/00000000-0000-4000-8000-000000000000/publish').send({ at: '-200000-01-01T00:00:00Z' }),
      'body.at',
    ],
  ])('when a request carries %s, then 400 naming the field, not 500', async (_case, send, field) => {
    expectStandardRefusal(await send(), field);
  });

  it('when every documented operation is fuzzed from its own schemas (fixed seed), then no answer is a 5xx and every error is the standard body', async () => {
    const failures: string[] = [];
    for (const [index, { method, template, operation }] of OPERATIONS.entries()) {
      await fc
        .assert(
          fc.asyncProperty(requestFor(operation), async (drawn) => {
            const parts: Record<string, unknown> = { path: drawn.path, query: drawn.query, body: drawn.body };
            if (drawn.corrupt) parts[drawn.corrupt.part] = corruptOneLeaf(parts[drawn.corrupt.part], drawn.corrupt.leaf, drawn.corrupt.value);
            const pathValues = (parts.path ?? {}) as Record<string, unknown>;
            const concrete = template.replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => encodeURIComponent(String(pathValues[name] ?? 'x')) || 'x');
            let call = request(platform.gateway.url)
              [method](concrete)
              .query((parts.query ?? {}) as Record<string, string>);
            withCredentials(call, operation, tenant, adminToken);
            if (parts.body !== undefined) call = call.send(parts.body as object);
            const res = await call;
            const standard = res.status < 400 || (typeof res.body.error?.code === 'string' && typeof res.body.error?.requestId === 'string');
            if (res.status >= 500 || !standard) {
              failures.push(
                `${method.toUpperCase()} ${concrete} ${JSON.stringify(parts.query ?? {})} ${JSON.stringify(parts.body)?.slice(0, 100)} → ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`,
              );
              return false;
            }
            return true;
          }),
          { seed: 20261201 + index, numRuns: 15, endOnFailure: true },
        )
        .catch(() => undefined);
    }
    expect(failures).toEqual([]);
    // 15 runs for each of the ~130 documented operations: about 25 s alone, more on a loaded CI machine.
  }, 120_000);
});
