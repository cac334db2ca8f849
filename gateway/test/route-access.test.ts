import { accessFor } from '../src/route-access';
import { ROUTE_TABLE } from '../src/route-table';

describe('gateway route classification (from the route table the services’ specs generate)', () => {
  it.each([
    ['POST', '/api/v1/auth/login', 'apiKey'],
    ['POST', '/api/v1/auth/admin/login', 'public'],
    ['GET', '/api/v1/crm/health', 'public'],
    ['GET', '/api/v1/client/public/content/page/about-us', 'apiKey'],
    ['GET', '/api/v1/client/clients', 'user'],
    ['HEAD', '/api/v1/client/clients', 'user'],
    ['GET', '/api/v1/admin/tenants', 'admin'],
    ['GET', '/api/v1/auth/admin/me', 'admin'],
  ])('when %s %s, then it needs %s', (method, path, access) => {
    expect(accessFor(method, path)).toBe(access);
  });

  it.each([
    ['POST', '/api/v1/auth/login/'],
    ['POST', '/api/v1/auth/%6Cogin'],
    ['GET', '/api/v1/client/public/content/page/about/../../clients'],
    ['GET', '/API/v1/client/clients'],
    ['GET', '/api/v1/nothing/here'],
  ])('when %s %s is no route a service serves, then 404 before any credential (fails closed)', (method, path) => {
    expect(() => accessFor(method, path)).toThrow(expect.objectContaining({ status: 404 }));
  });

  it('when a served path is asked with another method, then 405 naming the allowed ones', () => {
    expect(() => accessFor('GET', '/api/v1/auth/login')).toThrow(expect.objectContaining({ status: 405, headers: { Allow: 'POST' } }));
  });

  it('when the table is read, then no internal route is in it and every entry is under /api/v1', () => {
    expect(ROUTE_TABLE.length).toBeGreaterThan(50);
    for (const route of ROUTE_TABLE) expect(route.path.startsWith('/api/v1/')).toBe(true);
  });
});
