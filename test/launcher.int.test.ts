import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import bcrypt from 'bcrypt';
import { SERVICE_NAMES, envPrefix, type HealthReport } from '@codex/shared';
import { testEnv } from './support/test-env';
import { testServerUrl } from './support/database';
import { runTypeScript } from './support/processes';

/**
 * Ports below Linux's ephemeral range (32768+), so no other test's port-0 listener can take one
 * between our check and the launcher binding it.
 */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const candidate = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.includes(candidate)) continue;
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(candidate, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      ports.push(candidate);
    }
  }
  return ports;
}

describe('npm start (scripts/start.ts) against DATABASE_URL', () => {
  const database = `cm_launch_${testEnv('runId')}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = testServerUrl(database);

  afterAll(async () => {
    const admin = new pg.Client({ connectionString: testServerUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  async function startPlatform() {
    const ports = await freePorts(SERVICE_NAMES.length);
    const env: Record<string, string> = { DATABASE_URL: databaseUrl, BCRYPT_COST: '10', LOG_LEVEL: 'warn' };
    SERVICE_NAMES.forEach((name, index) => {
      env[`${envPrefix(name)}_PORT`] = String(ports[index]);
    });
    const launcher = runTypeScript('scripts/start.ts', env);
    await launcher.waitForOutput(/Codex Metatron is up/, 60_000);
    return { launcher, ports };
  }

  async function stopPlatform(launcher: ReturnType<typeof runTypeScript>, ports: number[]) {
    launcher.child.kill('SIGINT');
    expect(await launcher.exited).toEqual({ code: 0, signal: null });
    for (const port of ports) await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }

  it('when started on an empty server, then it creates the database, migrates, makes a super admin, runs seven healthy services and stops on Ctrl-C', async () => {
    const { launcher, ports } = await startPlatform();
    try {
      const healths = await Promise.all(ports.map((port) => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<HealthReport>)));
      expect(healths.map((h) => [h.service, h.status, h.checks.database?.status])).toEqual(
        SERVICE_NAMES.map((name) => [name, 'ok', 'ok']),
      );
      const [, password] = launcher.output().match(/Created super admin admin@codex\.local with password: (\S+)/)!;
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      const { rows } = await db.query('SELECT role, password_hash FROM admins');
      await db.end();
      expect(rows).toHaveLength(1);
      expect(rows[0].role).toBe('super_admin');
      expect(await bcrypt.compare(password!, rows[0].password_hash)).toBe(true);
      expect(rows[0].password_hash).not.toContain(password);
    } finally {
      await stopPlatform(launcher, ports);
    }
  });

  it('when started a second time, then it reuses the data: nothing re-applied, no second admin, no password printed', async () => {
    const { launcher, ports } = await startPlatform();
    try {
      expect(launcher.output()).not.toContain('Created super admin');
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      const admins = await db.query('SELECT count(*)::int AS n FROM admins');
      const migrations = await db.query('SELECT count(*)::int AS n FROM schema_migrations');
      await db.end();
      expect(admins.rows[0].n).toBe(1);
      expect(migrations.rows[0].n).toBeGreaterThanOrEqual(5);
    } finally {
      await stopPlatform(launcher, ports);
    }
  });
});
