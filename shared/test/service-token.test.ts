import express from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createLogger, createServiceTokenSigner, createServiceTokenVerifier, errorHandler, requestId, requireServiceToken } from '../src';

const SECRET = 'a-test-service-secret-that-is-long-enough';

function guardedApp() {
  const app = express();
  app.use(requestId());
  app.get('/internal/whoami', requireServiceToken('crm', SECRET), (req, res) => res.json(req.identity));
  app.use(errorHandler(createLogger('test', { silent: true })));
  return app;
}

describe('service tokens', () => {
  const signer = createServiceTokenSigner('gateway', SECRET);

  it('when signed for the callee, then the callee reads the identity', () => {
    const token = signer.sign('crm', { tenantId: 't1', userId: 'u1', roles: ['member'] });
    expect(createServiceTokenVerifier('crm', SECRET)(token)).toEqual({
      caller: 'gateway',
      tenantId: 't1',
      userId: 'u1',
      adminId: undefined,
      roles: ['member'],
    });
  });

  it('when the token lives, then no longer than 60 seconds', () => {
    const decoded = jwt.decode(signer.sign('crm')) as jwt.JwtPayload;
    expect(decoded.exp! - decoded.iat!).toBeLessThanOrEqual(60);
  });

  it('when the same identity calls the same service again, then its token is reused until 20 s before it expires, and never across identities or services', () => {
    let now = Date.UTC(2026, 11, 2, 12, 0, 0);
    const clocked = createServiceTokenSigner('gateway', SECRET, () => now);
    const alice = { tenantId: 't1', userId: 'u1', roles: ['member'] };
    const first = clocked.sign('crm', alice);
    now += 39_000;
    expect(clocked.sign('crm', { ...alice })).toBe(first);
    expect(clocked.sign('auth', alice)).not.toBe(first);
    expect(clocked.sign('crm', { ...alice, roles: ['owner'] })).not.toBe(first);
    expect(clocked.sign('crm', { ...alice, userId: 'u2' })).not.toBe(first);
    expect(clocked.sign('crm', { tenantId: 't2', userId: 'u1', roles: ['member'] })).not.toBe(first);
    now += 1_000;
    const renewed = clocked.sign('crm', alice);
    expect(renewed).not.toBe(first);
    const [before, after] = [first, renewed].map((token) => jwt.decode(token) as jwt.JwtPayload);
    expect(after!.iat! - before!.iat!).toBe(40);
    expect(after!.exp! - after!.iat!).toBe(60);
  });

  it('when a request has a valid token, then the guard passes and sets the identity', async () => {
    const token = signer.sign('crm', { tenantId: 't1', roles: ['viewer'] });
    const res = await request(guardedApp()).get('/internal/whoami').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ caller: 'gateway', tenantId: 't1', roles: ['viewer'] });
  });

  const badTokens: Array<[string, () => string | undefined]> = [
    ['missing', () => undefined],
    ['garbage', () => 'not-a-token'],
    ['for another service', () => signer.sign('billing')],
    ['signed with another secret', () => createServiceTokenSigner('gateway', 'another-secret-that-is-long-enough-too').sign('crm')],
    ['expired', () => jwt.sign({ roles: [] }, SECRET, { algorithm: 'HS256', issuer: 'gateway', audience: 'crm', expiresIn: -10 })],
    ['without exp', () => jwt.sign({ roles: [] }, SECRET, { algorithm: 'HS256', issuer: 'gateway', audience: 'crm' })],
    ['alg none', () => jwt.sign({ roles: [], iss: 'gateway', aud: 'crm' }, null as unknown as string, { algorithm: 'none' })],
  ];

  it.each(badTokens)('when the token is %s, then 401 in the standard body', async (_name, makeToken) => {
    const token = makeToken();
    const req = request(guardedApp()).get('/internal/whoami');
    const res = token === undefined ? await req : await req.set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'INVALID_SERVICE_TOKEN', requestId: expect.any(String) });
  });
});
