import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ADMIN_ROLES, permissionsOf, TENANT_ROLES, type Identity, type Operation } from '@codex/shared';
import { readApiSurface } from '../scripts/lib/api-surface';
import { serviceAuth } from './support/service-auth';
import { startTestPlatform, type TestPlatform } from './support/platform';

/**
 * Every route any service declares, read from the route specs themselves (the
 * one source of a route's access and permission), so a new route cannot be
 * left out: no signed-in caller is 401, a role without the route's permission
 * is 403 FORBIDDEN before its input is even looked at, a role with it passes.
 */
describe('permissions on every declared route', () => {
  let platform: TestPlatform;
  let tenantId: string;
  const ZERO_ID = '00000000-0000-4000-8000-000000000000';
  const routes: Array<{ service: string; operation: Operation }> = [];
  beforeAll(async () => {
    platform = await startTestPlatform({ services: ['crm', 'client', 'billing', 'subscription'] });
    tenantId = (await platform.newTenant()).id;
    for (const surface of await readApiSurface()) for (const operation of surface.operations) routes.push({ service: surface.service, operation });
  });
  afterAll(async () => {
    await platform.close();
  });

  const call = (service: string, operation: Operation, identity: Omit<Identity, 'caller'>) => {
    const url = platform.services[service as 'crm']!.url;
    const path = operation.path.replace(/:[A-Za-z]+/g, ZERO_ID);
    return request(url)
      [operation.method](path)
      .set('Authorization', serviceAuth(platform.deps.gateway!, service as 'crm', identity));
  };

  it('when the routes are read from the specs, then every user and admin route declares its access and most declare a permission', async () => {
    const guarded = routes.filter((r) => r.operation.spec.access === 'user' || r.operation.spec.access === 'admin');
    expect(guarded.length).toBeGreaterThan(45);
    expect(guarded.filter((r) => r.operation.spec.permission).length).toBeGreaterThan(40);
  });

  it('when each user route is called without a signed-in user, then 401; with each tenant role, then 403 exactly when the role lacks the permission', async () => {
    const failures: string[] = [];
    for (const { service, operation } of routes.filter((r) => r.operation.spec.access === 'user')) {
      const name = `${operation.method.toUpperCase()} ${operation.path}`;
      const anonymous = await call(service, operation, { tenantId, roles: [] });
      if (anonymous.status !== 401) failures.push(`${name} without a user: ${anonymous.status}`);
      for (const role of TENANT_ROLES) {
        const identity = { tenantId, userId: randomUUID(), roles: [role] };
        const res = await call(service, operation, identity);
        const refused = res.status === 403 && res.body.error?.code === 'FORBIDDEN';
        const allowed = !operation.spec.permission || permissionsOf(identity).has(operation.spec.permission);
        if (refused === allowed) failures.push(`${name} as ${role}: ${res.status} ${res.body.error?.code ?? ''}`);
        if (res.status >= 500) failures.push(`${name} as ${role}: ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('when each admin route is called without an admin, then 401; with each admin role, then 403 exactly when the role lacks the permission', async () => {
    const failures: string[] = [];
    for (const { service, operation } of routes.filter((r) => r.operation.spec.access === 'admin')) {
      const name = `${operation.method.toUpperCase()} ${operation.path}`;
      const anonymous = await call(service, operation, { roles: [] });
      if (anonymous.status !== 401) failures.push(`${name} without an admin: ${anonymous.status}`);
      for (const role of ADMIN_ROLES) {
        const identity = { adminId: randomUUID(), roles: [role] };
        const res = await call(service, operation, identity);
        const refused = res.status === 403 && res.body.error?.code === 'FORBIDDEN';
        const allowed = !operation.spec.permission || permissionsOf(identity).has(operation.spec.permission);
        if (refused === allowed) failures.push(`${name} as ${role}: ${res.status} ${res.body.error?.code ?? ''}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
