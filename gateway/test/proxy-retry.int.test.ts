import request from 'supertest';
import { closeServiceDeps, type ServiceDeps } from '@codex/shared';
import { createApp } from '../src/app';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { listenOnFreePort, type Listening } from '../../test/support/listen';
import { createTestDeps } from '../../test/support/service-deps';

/** A service instance that drops a connection before answering (it is restarting): repeatable requests go again. */
describe('the gateway proxy when a service drops the connection before answering', () => {
  let db: TestDatabase;
  let deps: ServiceDeps<'gateway'>;
  let crm: Listening;
  let gateway: ReturnType<typeof createApp>;
  let drops = 0;
  let seen = 0;

  beforeAll(async () => {
    db = await createTestDatabase('master');
    crm = await listenOnFreePort((req, res) => {
      seen += 1;
      if (drops > 0) {
        drops -= 1;
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    });
    deps = createTestDeps('gateway', db.url, { CRM_URL: crm.url });
    gateway = createApp(deps);
  });
  afterAll(async () => {
    await crm.close();
    await closeServiceDeps(deps);
    await db.drop();
  });

  it('when a GET is dropped once or twice, then the gateway sends it again and the caller gets the answer', async () => {
    for (const times of [1, 2]) {
      drops = times;
      seen = 0;
      const res = await request(gateway).get('/api/v1/crm/health');
      expect(res.status).toBe(200);
      expect(seen).toBe(times + 1);
    }
  });

  it('when a GET is dropped three times, then 502 UPSTREAM_ERROR after three attempts', async () => {
    drops = 3;
    seen = 0;
    const res = await request(gateway).get('/api/v1/crm/health');
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('UPSTREAM_ERROR');
    expect(seen).toBe(3);
    drops = 0;
  });

  it('when a GET with a body is dropped, then it is not sent again (its body is spent): 502 after one attempt', async () => {
    drops = 1;
    seen = 0;
    const res = await request(gateway).get('/api/v1/crm/health').set('Content-Type', 'application/json').send('{"q":1}');
    expect(res.status).toBe(502);
    expect(seen).toBe(1);
    drops = 0;
  });
});
