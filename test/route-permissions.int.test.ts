import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp as createClientApp } from '../services/client/src/app';
import { createApp as createCrmApp } from '../services/crm/src/app';
import { listenOnFreePort, type Listening } from './support/listen';
import { provisionTestTenant } from './support/provisioning';
import { createTestDeps } from './support/service-deps';
import { createTenantTestBed, type TenantTestBed } from './support/tenant-test-bed';
import { serviceAuth } from './support/service-auth';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** Every tenant-data route of the client and CRM services, with whether it writes. */
const ID = '00000000-0000-4000-8000-000000000000';
const ROUTES: Array<{ service: 'client' | 'crm'; method: Method; path: string; writes: boolean; body?: object | string; contentType?: string; ownersOnly?: boolean }> = [
  { service: 'client', method: 'get', path: '/api/v1/client/clients', writes: false },
  { service: 'client', method: 'post', path: '/api/v1/client/clients', writes: true, body: { name: 'x' } },
  { service: 'client', method: 'get', path: `/api/v1/client/clients/${ID}`, writes: false },
  { service: 'client', method: 'patch', path: `/api/v1/client/clients/${ID}`, writes: true, body: { name: 'x', version: 1 } },
  { service: 'client', method: 'delete', path: `/api/v1/client/clients/${ID}`, writes: true },
  { service: 'client', method: 'post', path: `/api/v1/client/clients/${ID}/restore`, writes: true },
  { service: 'client', method: 'post', path: '/api/v1/client/import?format=csv', writes: true, body: 'name\nx\n', contentType: 'text/csv', ownersOnly: true },
  { service: 'client', method: 'post', path: '/api/v1/client/import?entity=contacts&format=csv', writes: true, body: 'firstName\nx\n', contentType: 'text/csv', ownersOnly: true },
  { service: 'client', method: 'get', path: '/api/v1/client/import', writes: false, ownersOnly: true },
  { service: 'client', method: 'get', path: `/api/v1/client/import/${ID}`, writes: false, ownersOnly: true },
  { service: 'client', method: 'get', path: '/api/v1/client/export?format=csv', writes: false, ownersOnly: true },
  { service: 'client', method: 'get', path: '/api/v1/client/export?entity=contacts&format=jsonl', writes: false, ownersOnly: true },
  { service: 'client', method: 'get', path: '/api/v1/client/content', writes: false },
  { service: 'client', method: 'post', path: '/api/v1/client/content', writes: true, body: { type: 'page', slug: 'p', title: 't', bodyFormat: 'markdown', body: 'x' } },
  { service: 'client', method: 'get', path: `/api/v1/client/content/${ID}`, writes: false },
  { service: 'client', method: 'patch', path: `/api/v1/client/content/${ID}`, writes: true, body: { title: 'x', version: 1 } },
  { service: 'client', method: 'delete', path: `/api/v1/client/content/${ID}`, writes: true },
  { service: 'client', method: 'get', path: `/api/v1/client/content/${ID}/versions`, writes: false },
  { service: 'client', method: 'post', path: `/api/v1/client/content/${ID}/publish`, writes: true, body: {} },
  { service: 'client', method: 'post', path: `/api/v1/client/content/${ID}/unpublish`, writes: true },
  { service: 'crm', method: 'get', path: '/api/v1/crm/pipelines', writes: false },
  { service: 'crm', method: 'post', path: '/api/v1/crm/pipelines', writes: true, body: { name: 'P', stages: [{ name: 'S' }] } },
  { service: 'crm', method: 'put', path: `/api/v1/crm/pipelines/${ID}/stages`, writes: true, body: { stages: [{ name: 'S' }] } },
  { service: 'crm', method: 'get', path: '/api/v1/crm/pipeline', writes: false },
  { service: 'crm', method: 'get', path: '/api/v1/crm/contacts', writes: false },
  { service: 'crm', method: 'post', path: '/api/v1/crm/contacts', writes: true, body: { firstName: 'x' } },
  { service: 'crm', method: 'get', path: `/api/v1/crm/contacts/${ID}`, writes: false },
  { service: 'crm', method: 'patch', path: `/api/v1/crm/contacts/${ID}`, writes: true, body: { firstName: 'y' } },
  { service: 'crm', method: 'delete', path: `/api/v1/crm/contacts/${ID}`, writes: true },
  { service: 'crm', method: 'get', path: `/api/v1/crm/contacts/${ID}/timeline`, writes: false },
  { service: 'crm', method: 'get', path: '/api/v1/crm/deals', writes: false },
  { service: 'crm', method: 'post', path: '/api/v1/crm/deals', writes: true, body: { title: 'x', currency: 'EUR' } },
  { service: 'crm', method: 'get', path: `/api/v1/crm/deals/${ID}`, writes: false },
  { service: 'crm', method: 'patch', path: `/api/v1/crm/deals/${ID}`, writes: true, body: { title: 'y' } },
  { service: 'crm', method: 'post', path: `/api/v1/crm/deals/${ID}/move`, writes: true, body: { stageId: ID } },
  { service: 'crm', method: 'get', path: `/api/v1/crm/deals/${ID}/timeline`, writes: false },
  { service: 'crm', method: 'post', path: '/api/v1/crm/activities', writes: true, body: { type: 'note', subject: 's', dealId: ID } },
  { service: 'crm', method: 'post', path: `/api/v1/crm/activities/${ID}/complete`, writes: true, body: {} },
];

describe('permissions on every client and CRM route', () => {
  let bed: TenantTestBed;
  const deps: ServiceDeps[] = [];
  const apps: Record<string, ReturnType<typeof createClientApp>> = {};
  let tenantId: string;
  let crm: Listening;

  beforeAll(async () => {
    bed = await createTenantTestBed();
    const crmDeps = createTestDeps('crm', bed.db.url);
    apps.crm = createCrmApp(crmDeps);
    // Contact import and export reach the CRM over HTTP.
    crm = await listenOnFreePort(apps.crm);
    const clientDeps = createTestDeps('client', bed.db.url, { CRM_URL: crm.url });
    apps.client = createClientApp(clientDeps);
    deps.push(clientDeps, crmDeps);
    tenantId = (await provisionTestTenant(deps[0]!, bed.template)).tenant.id;
  });
  afterAll(async () => {
    await crm.close();
    for (const d of deps) await closeServiceDeps(d);
    await bed.drop();
  });

  const call = (route: (typeof ROUTES)[number], identity: { userId?: string; roles: string[] }) => {
    const req = request(apps[route.service]!)[route.method](route.path).set('Authorization', serviceAuth(deps[0]!, route.service, { tenantId, ...identity }));
    if (route.contentType) req.set('Content-Type', route.contentType);
    return route.body ? req.send(route.body) : req;
  };

  it.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s: a viewer reads but never writes', async (_name, route) => {
    const res = await call(route, { userId: randomUUID(), roles: ['viewer'] });
    if (route.writes || route.ownersOnly) {
      expect(res.status).toBe(403);
    } else {
      expect([200, 404]).toContain(res.status);
    }
  });

  it.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s: without a signed-in user, 401', async (_name, route) => {
    expect((await call(route, { roles: [] })).status).toBe(401);
  });

  it.each(ROUTES.filter((r) => r.ownersOnly).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s: a member is refused (bulk routes are for owners and admins)', async (_name, route) => {
    expect((await call(route, { userId: randomUUID(), roles: ['member'] })).status).toBe(403);
  });

  it.each(ROUTES.filter((r) => r.writes || r.ownersOnly).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s: an owner passes the permission check', async (_name, route) => {
    const res = await call(route, { userId: randomUUID(), roles: ['owner'] });
    expect([200, 201, 204, 400, 404, 409, 428]).toContain(res.status);
  });
});
