import { accessFor } from '../src/route-access';

describe('gateway route classification', () => {
  it.each([
    ['POST', '/api/v1/auth/login', 'apiKey'],
    ['POST', '/api/v1/auth/admin/login', 'none'],
    ['GET', '/api/v1/crm/health', 'none'],
    ['GET', '/api/v1/client/public/content/page/about-us', 'apiKey'],
    ['GET', '/api/v1/client/clients', 'user'],
    ['GET', '/api/v1/admin/tenants', 'admin'],
    ['GET', '/api/v1/auth/admin/me', 'admin'],
  ])('when %s %s, then it needs %s', (method, path, access) => {
    expect(accessFor(method, path)).toBe(access);
  });

  it.each([
    ['POST', '/api/v1/auth/login/'],
    ['GET', '/api/v1/auth/login'],
    ['POST', '/api/v1/auth/%6Cogin'],
    ['GET', '/api/v1/client/public/content/page/about/../../clients'],
    ['GET', '/api/v1/client/public/content/Page/About'],
  ])('when %s %s looks almost public, then it still needs a user token (fails closed)', (method, path) => {
    expect(accessFor(method, path)).toBe('user');
  });
});
