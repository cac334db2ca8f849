import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVICE_NAMES, envPrefix } from '@codex/shared';
import { takeMachineTurn, type MachineTurn } from './support/machine-turn';
import { freePorts } from './support/launch';
import { REPO_ROOT } from './support/processes';
import { createTenantTestBed, type TenantTestBed } from './support/tenant-test-bed';

const PM2 = path.join(REPO_ROOT, 'node_modules', '.bin', 'pm2');

/** Runs scripts/deploy.sh with `env`, to completion, keeping its output. */
function deploy(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(REPO_ROOT, 'scripts', 'deploy.sh')], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/**
 * scripts/deploy.sh against a local directory standing for the host: a good
 * release goes live behind the `current` link under PM2; a release whose CRM
 * cannot start is caught by the health poll and rolled back to the last good
 * one, which keeps serving.
 */
describe('scripts/deploy.sh (a local directory as the host, the real PM2)', () => {
  let bed: TenantTestBed;
  let work: string;
  let ports: number[];
  let baseEnv: Record<string, string>;

  let turn: MachineTurn | undefined;
  beforeAll(async () => {
    // Waits while another whole-platform suite runs.
    turn = await takeMachineTurn();
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: REPO_ROOT, stdio: 'ignore' });
    bed = await createTenantTestBed();
    work = await mkdtemp(path.join(tmpdir(), 'codex-deploy-'));
    ports = await freePorts(SERVICE_NAMES.length);
    const host = path.join(work, 'host');
    await mkdir(path.join(host, 'shared'), { recursive: true });
    const settings = [
      'NODE_ENV=production',
      `DATABASE_URL=${bed.db.url}`,
      `TENANT_TEMPLATE_DATABASE=${bed.template}`,
      `SERVICE_JWT_SECRET=${'d'.repeat(48)}`,
      `SECRETS_KEYS=k1:${Buffer.alloc(32, 9).toString('base64')}`,
      'ADMIN_PASSWORD=deploy-test-admin-password',
      'LOG_LEVEL=warn',
      'GATEWAY_INSTANCES=1',
      'SERVICE_INSTANCES=1',
      // The console under PM2 is pm2.int.test.ts's; here the releases' services are what is deployed and checked.
      'CONSOLE=off',
      ...SERVICE_NAMES.map((name, index) => `${envPrefix(name)}_PORT=${ports[index]}`),
    ];
    await writeFile(path.join(host, 'shared', 'codex.env'), `${settings.join('\n')}\n`, { mode: 0o600 });
    baseEnv = {
      DEPLOY_PATH: host,
      SKIP_BUILD: '1',
      PM2_HOME: path.join(work, 'pm2'),
      PM2_BIN: PM2,
      HEALTH_URL: `http://127.0.0.1:${ports[0]}/health/services`,
      NPM_INSTALL: 'npm ci --omit=dev --no-audit --no-fund --prefer-offline',
    };
  }, 600_000);
  afterAll(async () => {
    spawnSync(PM2, ['kill'], { env: { PATH: process.env.PATH ?? '', PM2_HOME: path.join(work, 'pm2') } });
    await rm(work, { recursive: true, force: true });
    await bed.drop();
    await turn?.end();
  }, 60_000);

  /** A copy of the built tree as a release source; `broken` makes the CRM exit at start. */
  async function source(name: string, broken = false): Promise<string> {
    const dir = path.join(work, name);
    await cp(REPO_ROOT, dir, { recursive: true, filter: (from) => !/\/(node_modules|\.git|\.data)(\/|$)/.test(from.slice(REPO_ROOT.length)) });
    if (broken) await writeFile(path.join(dir, 'services', 'crm', 'dist', 'main.js'), "process.stderr.write('crm: cannot start\\n'); process.exit(1);\n");
    return dir;
  }

  const liveRelease = () => path.basename(readlinkSync(path.join(baseEnv.DEPLOY_PATH!, 'current')));
  const servicesUp = async () => {
    const body = (await (await fetch(baseEnv.HEALTH_URL!)).json()) as { services: Array<{ status: string }> };
    return body.services.every((s) => s.status === 'up');
  };

  it('when a good release is deployed, then it is live behind current and every service is up', async () => {
    const result = await deploy({ ...baseEnv, SOURCE_DIR: await source('good'), RELEASE: 'r1' });
    expect(result.output).toContain('release r1 is live and healthy');
    expect(result.code).toBe(0);
    expect(liveRelease()).toBe('r1');
    expect(await servicesUp()).toBe(true);
  }, 240_000);

  it('when a release whose CRM cannot start is deployed, then the health check fails, current goes back to the last good release, and it serves', async () => {
    const result = await deploy({ ...baseEnv, SOURCE_DIR: await source('bad', true), RELEASE: 'r2', HEALTH_TIMEOUT: '20' });
    expect(result.code).toBe(1);
    expect(result.output).toContain('release r2 did not become healthy within 20s; rolling back to r1');
    expect(result.output).toContain('rolled back to r1');
    expect(liveRelease()).toBe('r1');
    expect(await servicesUp()).toBe(true);
    expect(readFileSync(path.join(baseEnv.DEPLOY_PATH!, 'releases', 'r2', 'services', 'crm', 'dist', 'main.js'), 'utf8')).toContain('cannot start');
  }, 240_000);
});
