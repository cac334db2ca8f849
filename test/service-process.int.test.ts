import { createTestDatabase, type TestDatabase } from './support/database';
import { runTypeScript } from './support/processes';

describe('a service process (main.ts)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('master');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('when started and sent SIGTERM, then it serves /health, then stops cleanly with exit code 0', async () => {
    const service = runTypeScript('services/crm/src/main.ts', { DATABASE_URL: db.url, CRM_PORT: '0', NODE_ENV: 'test' });
    try {
      const [, url] = await service.waitForOutput(/"url":"(http:\/\/[^"]+)"/, 20_000);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.output()).toContain('"message":"stopped"');
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  it('when Ctrl-C under the launcher sends SIGINT and then SIGTERM, then it still shuts down gracefully with exit code 0', async () => {
    const service = runTypeScript('services/crm/src/main.ts', { DATABASE_URL: db.url, CRM_PORT: '0', NODE_ENV: 'test' });
    try {
      await service.waitForOutput(/"url":"(http:\/\/[^"]+)"/, 20_000);
      service.child.kill('SIGINT');
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.output()).not.toContain('second signal');
      expect(service.output()).toContain('"message":"stopped"');
    } finally {
      service.child.kill('SIGKILL');
    }
  });

  it('when a variable is invalid, then it exits 1 with one line naming it', async () => {
    const service = runTypeScript('services/crm/src/main.ts', { DATABASE_URL: db.url, CRM_PORT: 'not-a-port' });
    expect((await service.exited).code).toBe(1);
    const lines = service.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^crm: Invalid configuration: CRM_PORT /);
  });
});
