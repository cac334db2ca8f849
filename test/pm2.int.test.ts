import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { SERVICE_NAMES, envPrefix } from '@codex/shared';
import { takeMachineTurn, type MachineTurn } from './support/machine-turn';
import { createTenantTestBed, type TenantTestBed } from './support/tenant-test-bed';
import { freePorts } from './support/launch';
import { REPO_ROOT } from './support/processes';
import { startNginx } from '../scripts/lib/nginx';
import { buildConsole, consoleBuildIsCurrent } from '../scripts/lib/console';

const PM2 = path.join(REPO_ROOT, 'node_modules', '.bin', 'pm2');

/**
 * pm2.config.js as shipped, run by the real PM2 (from npm, with a PM2_HOME of
 * its own) on the compiled services against a test database: every service
 * comes up healthy, `pm2 reload all` under steady load through the gateway
 * fails no request, and `pm2 delete all` leaves nothing running.
 */
describe('pm2.config.js under the real PM2', () => {
  let bed: TenantTestBed;
  let home: string;
  let ports: number[];
  const pm2 = (...args: string[]) =>
    spawnSync(PM2, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: home, PM2_HOME: home, CODEX_ENV_FILE: path.join(home, 'codex.env') },
      encoding: 'utf8',
    });

  let turn: MachineTurn | undefined;
  beforeAll(async () => {
    // Waits while another whole-platform suite runs.
    turn = await takeMachineTurn();
    // PM2 runs the compiled services (dist/), as in production; CI builds before testing.
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: REPO_ROOT, stdio: 'ignore' });
    // …and the console's production build.
    if (!consoleBuildIsCurrent()) await buildConsole();
    bed = await createTenantTestBed();
    home = await mkdtemp(path.join(tmpdir(), 'codex-pm2-'));
    ports = await freePorts(SERVICE_NAMES.length + 1);
    const env = [
      'NODE_ENV=production',
      `DATABASE_URL=${bed.db.url}`,
      `TENANT_TEMPLATE_DATABASE=${bed.template}`,
      `SERVICE_JWT_SECRET=${'s'.repeat(48)}`,
      `SECRETS_KEYS=k1:${Buffer.alloc(32, 7).toString('base64')}`,
      'LOG_LEVEL=warn',
      'RATE_LIMIT_PER_IP=10000000',
      'RATE_LIMIT_PER_KEY=10000000',
      'SHUTDOWN_TIMEOUT_MS=5000',
      ...SERVICE_NAMES.map((name, index) => `${envPrefix(name)}_PORT=${ports[index]}`),
      `CONSOLE_PORT=${ports[SERVICE_NAMES.length]}`,
    ];
    await writeFile(path.join(home, 'codex.env'), `${env.join('\n')}\n`, { mode: 0o600 });
  }, 600_000);
  afterAll(async () => {
    pm2('kill');
    await rm(home, { recursive: true, force: true });
    await bed.drop();
    await turn?.end();
  }, 60_000);

  const healthy = async () =>
    (
      await Promise.all(
        ports.map((port, index) =>
          fetch(index === SERVICE_NAMES.length ? `http://127.0.0.1:${port}/console/sign-in` : `http://127.0.0.1:${port}/health`).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      )
    ).every(Boolean);

  it('when started, then every service is healthy; a reload of all under load fails no request; delete all stops everything', async () => {
    const started = pm2('start', 'pm2.config.js');
    expect(started.status).toBe(0);
    for (let waited = 0; !(await healthy()) && waited < 60_000; waited += 500) await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await healthy()).toBe(true);
    const listed = JSON.parse(pm2('jlist').stdout) as Array<{ name: string; pm2_env: { status: string; exec_mode: string } }>;
    // Two of each service in cluster mode, and the console (one Next.js server, fork mode).
    expect(listed).toHaveLength(SERVICE_NAMES.length * 2 + 1);
    expect(listed.every((app) => app.pm2_env.status === 'online')).toBe(true);
    expect(listed.filter((app) => app.pm2_env.exec_mode === 'cluster_mode')).toHaveLength(SERVICE_NAMES.length * 2);
    expect(listed.filter((app) => app.name === 'codex-console').map((app) => app.pm2_env.exec_mode)).toEqual(['fork_mode']);

    // Steady load, as in production through nginx (which retries a request its kept-alive connection lost
    // to a gateway instance that was stopping), through the gateway to a service, while every app reloads.
    const nginx = await startNginx({ httpPort: (await freePorts(1))[0]!, gateways: [`127.0.0.1:${ports[0]}`], withoutRateLimits: true });
    // autocannon's own limit above nginx's 35 s: a slow answer counts as what it is (served, or nginx's
    // and the gateway's 5xx), not as the load generator giving up after its default 10 s.
    const load = autocannon({ url: `${nginx.url}/api/v1/crm/health`, connections: 8, duration: 25, timeout: 40 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // Asynchronously: the load generator runs in this process and must keep sending meanwhile.
    await promisify(execFile)(PM2, ['reload', 'all'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: home, PM2_HOME: home, CODEX_ENV_FILE: path.join(home, 'codex.env') },
    });
    const result = await load;
    // What failed, if anything, is part of the assertion: nginx's access lines with a 5xx, and
    // what nginx and the gateways logged about it.
    const notOk = readFileSync(nginx.accessLog, 'utf8')
      .split('\n')
      .filter((line) => /"status":5\d\d/.test(line))
      .slice(0, 5);
    const evidence =
      notOk.length === 0
        ? []
        : [
            readFileSync(path.join(path.dirname(nginx.accessLog), 'error.log'), 'utf8').slice(-2000),
            ...readdirSync(path.join(home, 'logs'))
              .filter((file) => file.includes('gateway'))
              .flatMap((file) =>
                readFileSync(path.join(home, 'logs', file), 'utf8')
                  .split('\n')
                  .filter((line) => /"status":(?!200)\d{3}|proxy|upstream/.test(line))
                  .slice(0, 5),
              ),
          ];
    await nginx.stop();
    if (result.latency.max > 5_000) process.stderr.write(`pm2 reload: slowest request ${result.latency.max} ms\n`);
    expect(result.requests.total).toBeGreaterThan(1_000);
    expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, notOk, evidence }).toEqual({
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      notOk: [],
      evidence: [],
    });

    expect(pm2('delete', 'all').status).toBe(0);
    for (const port of ports) await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 180_000);
});
