import request from 'supertest';
import { DOCUMENT, OPERATIONS, withCredentials } from './support/documented-operations';
import { startTestPlatform, type PlatformTenant, type TestPlatform } from './support/platform';

/** Path parameters filled so that the route matches (the record will not exist, which is a fine answer). */
const concrete = (template: string) =>
  template
    .replace('{type}', 'page')
    .replace('{slug}', 'about')
    .replace(/\{[A-Za-z]+\}/g, '00000000-0000-4000-8000-000000000000');

/**
 * The contract and the running platform agree: the gateway serves exactly
 * the checked-in document, and every documented operation is routed to a
 * service that answers it (never "no route", never 405, never a 5xx) with
 * the credentials its access names.
 */
describe('the public contract (docs/openapi.json) against the running platform', () => {
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

  it('when the gateway serves its combined document, then it is the checked-in contract', async () => {
    const served = await request(platform.gateway.url).get('/openapi.json');
    expect(served.body).toEqual(DOCUMENT);
    expect(OPERATIONS.length).toBeGreaterThan(60);
    expect(new Set(OPERATIONS.map((o) => o.operation.operationId)).size).toBe(OPERATIONS.length);
  });

  it('when every documented operation is called through the gateway with its credentials, then a service answers it', async () => {
    const failures: string[] = [];
    for (const { method, template, operation } of OPERATIONS) {
      let call = withCredentials(request(platform.gateway.url)[method](concrete(template)), operation, tenant, adminToken);
      const media = Object.keys(operation.requestBody?.content ?? {})[0];
      if (media === 'application/json') call = call.send({});
      else if (media) call = call.set('Content-Type', media).send('');
      const res = await call;
      const noRoute = res.status === 404 && /^No route/.test(res.body.error?.message ?? '');
      if (noRoute || res.status === 405 || res.status >= 500 || (res.status >= 400 && !res.body.error?.requestId)) {
        failures.push(`${method.toUpperCase()} ${template} (${operation.operationId}): ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
