import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import bcrypt from 'bcrypt';
import { SERVICE_NAMES, envPrefix, type HealthReport } from '@codex/shared';
import { takeMachineTurn, type MachineTurn } from './support/machine-turn';
import { testEnv } from './support/test-env';
import { serverQuery, testServerUrl } from './support/database';
import { runTypeScript } from './support/processes';
import { dropProvisionedTenants } from './support/tenants';
import { call, freePorts } from './support/launch';

/** The identity issue's acceptance flow, over real HTTP through the gateway of a running platform. */
async function signUpFlowThroughGateway(gateway: string, adminPassword: string): Promise<void> {
  const admin = await call(gateway, 'POST', '/api/v1/auth/admin/login', { body: { email: 'admin@codex.local', password: adminPassword } });
  expect(admin.status).toBe(200);
  for (const slug of [`flow-a-${randomBytes(3).toString('hex')}`, `flow-b-${randomBytes(3).toString('hex')}`]) {
    const created = await call(gateway, 'POST', '/api/v1/admin/tenants', { token: admin.body.accessToken, body: { name: slug, slug } });
    expect(created.status).toBe(201);
    const key = created.body.apiKey.key as string;
    const credentials = { email: `owner@${slug}.example`, password: 'correct horse battery' };
    expect((await call(gateway, 'POST', '/api/v1/auth/register', { key, body: credentials })).status).toBe(201);
    const login = await call(gateway, 'POST', '/api/v1/auth/login', { key, body: credentials });
    expect(login.status).toBe(200);
    const me = await call(gateway, 'GET', '/api/v1/auth/me', { key, token: login.body.accessToken });
    expect(me.body).toMatchObject({ email: credentials.email, roles: ['owner'] });
    const refreshed = await call(gateway, 'POST', '/api/v1/auth/refresh', { key, body: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    const refreshedAgain = await call(gateway, 'POST', '/api/v1/auth/refresh', { key, body: { refreshToken: refreshed.body.refreshToken } });
    expect(refreshedAgain.status).toBe(200);
    // The first token is no longer the immediate parent: presenting it revokes the whole login.
    const reuse = await call(gateway, 'POST', '/api/v1/auth/refresh', { key, body: { refreshToken: login.body.refreshToken } });
    expect([reuse.status, reuse.body.error.code]).toEqual([401, 'REFRESH_TOKEN_REUSED']);
    expect((await call(gateway, 'POST', '/api/v1/auth/refresh', { key, body: { refreshToken: refreshedAgain.body.refreshToken } })).status).toBe(401);
    const again = await call(gateway, 'POST', '/api/v1/auth/login', { key, body: credentials });
    expect((await call(gateway, 'POST', '/api/v1/auth/logout', { key, body: { refreshToken: again.body.refreshToken } })).status).toBe(204);
    expect((await call(gateway, 'POST', '/api/v1/auth/refresh', { key, body: { refreshToken: again.body.refreshToken } })).status).toBe(401);
  }
}

describe('npm start (scripts/start.ts) against DATABASE_URL', () => {
  // A whole platform starts in about 12 s alone; on a shared CI machine, beside other suites, it can take longer.
  jest.setTimeout(120_000);
  const database = `cm_launch_${testEnv('runId')}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = testServerUrl(database);
  let dataDir: string;
  let turn: MachineTurn | undefined;
  beforeAll(async () => {
    // Waits while another whole-platform suite runs.
    turn = await takeMachineTurn();
    dataDir = await mkdtemp(path.join(tmpdir(), 'codex-launch-'));
  }, 600_000);

  afterAll(async () => {
    await dropProvisionedTenants(databaseUrl);
    await serverQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await serverQuery(`DROP DATABASE IF EXISTS ${database}_tpl WITH (FORCE)`);
    await rm(dataDir, { recursive: true, force: true });
    await turn?.end();
  });

  async function startPlatform(extra: Record<string, string> = {}) {
    const ports = await freePorts(SERVICE_NAMES.length);
    const env: Record<string, string> = {
      ...extra,
      DATA_DIR: dataDir,
      // The console (and its build) has its own browser suite: admin-ui/test.
      CONSOLE: 'off',
      DATABASE_URL: databaseUrl,
      BCRYPT_COST: '10',
      LOG_LEVEL: 'warn',
      // Its own template, so this platform does not share one with other test files.
      TENANT_TEMPLATE_DATABASE: `${database}_tpl`,
    };
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
    // A clean stop: the gateway reported its last key uses before the admin service stopped, and nothing threw.
    expect(launcher.output()).not.toContain('could not report API key usage');
    expect(launcher.output()).not.toMatch(/\n\s+at /);
  }

  it('when started on an empty server, then it creates the database, migrates, makes a super admin, runs seven healthy services and stops on Ctrl-C', async () => {
    const { launcher, ports } = await startPlatform();
    try {
      const healths = await Promise.all(ports.map((port) => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<HealthReport>)));
      expect(healths.map((h) => [h.service, h.status, h.checks.database?.status])).toEqual(SERVICE_NAMES.map((name) => [name, 'ok', 'ok']));
      // The generated password comes after "is up", framed, and in a file only its owner reads.
      const output = launcher.output();
      const [, password] = output.match(/\| Password: +(\S+) +\|/)!;
      expect(output.indexOf('Password:')).toBeGreaterThan(output.indexOf('Codex Metatron is up'));
      expect(output).toMatch(/database +PostgreSQL at 127\.0\.0\.1:5432\/cm_launch_\S+ \(DATABASE_URL\)/);
      const file = path.join(dataDir, 'first-admin.txt');
      expect(readFileSync(file, 'utf8')).toBe(`admin@codex.local\n${password}\n`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      const { rows } = await db.query('SELECT role, password_hash FROM admins');
      await db.end();
      expect(rows).toHaveLength(1);
      expect(rows[0].role).toBe('super_admin');
      expect(await bcrypt.compare(password!, rows[0].password_hash)).toBe(true);
      expect(rows[0].password_hash).not.toContain(password);

      await signUpFlowThroughGateway(`http://127.0.0.1:${ports[0]}`, password!);
    } finally {
      await stopPlatform(launcher, ports);
    }
  });

  it('when started a second time, then it reuses the data: nothing re-applied, no second admin, no password printed; a new ADMIN_PASSWORD is said to be unused', async () => {
    const { launcher, ports } = await startPlatform({ ADMIN_PASSWORD: 'a-new-password-that-is-ignored' });
    try {
      expect(launcher.output()).not.toContain('Password:');
      expect(launcher.output()).toContain('ADMIN_PASSWORD is set but a super admin (admin@codex.local) already exists, so it was not used');
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

  it('when the first password is lost, then npm run admin -- reset-password prints a new one, once, that the stored hash accepts', async () => {
    const run = runTypeScript('scripts/admin.ts', { DATABASE_URL: databaseUrl, DATA_DIR: dataDir, BCRYPT_COST: '10' }, ['reset-password', 'admin@codex.local']);
    expect((await run.exited).code).toBe(0);
    const [, password] = run.output().match(/One-time password \(shown once\): (\S+)/)!;
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const { rows } = await db.query(`SELECT password_hash FROM admins WHERE email = 'admin@codex.local'`);
    await db.end();
    expect(await bcrypt.compare(password!, rows[0].password_hash)).toBe(true);
    const unknown = runTypeScript('scripts/admin.ts', { DATABASE_URL: databaseUrl, DATA_DIR: dataDir }, ['reset-password', 'nobody@codex.local']);
    expect((await unknown.exited).code).toBe(1);
    expect(unknown.output()).toContain('No admin with email "nobody@codex.local"');
  });

  it('when a port it needs is taken, then it says which and by whom, and starts nothing', async () => {
    const ports = await freePorts(SERVICE_NAMES.length);
    const squatter = net.createServer().listen(ports[SERVICE_NAMES.indexOf('crm')], '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      const env: Record<string, string> = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', CONSOLE: 'off' };
      SERVICE_NAMES.forEach((name, index) => {
        env[`${envPrefix(name)}_PORT`] = String(ports[index]);
      });
      const launcher = runTypeScript('scripts/start.ts', env);
      const { code } = await launcher.exited;
      expect(code).toBe(1);
      expect(launcher.output()).toMatch(new RegExp(`crm +port ${ports[SERVICE_NAMES.indexOf('crm')]} is in use by pid ${process.pid} \\(`));
      expect(launcher.output()).toContain('set CRM_PORT');
      expect(launcher.output()).not.toContain('is up');
      expect(launcher.output()).not.toMatch(/\n\s+at /);
      for (const [index, port] of ports.entries()) if (SERVICE_NAMES[index] !== 'crm') await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    } finally {
      squatter.close();
    }
  });

  it('when the foreground process is killed outright (its terminal closed), then the services still stop and free their ports', async () => {
    const { launcher, ports } = await startPlatform();
    launcher.child.kill('SIGKILL');
    await launcher.exited;
    for (const port of ports) {
      let open = true;
      for (let waited = 0; open && waited < 20_000; waited += 250) {
        open = await fetch(`http://127.0.0.1:${port}/health`).then(
          () => true,
          () => false,
        );
        if (open) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(open).toBe(false);
    }
  });
});
