import { readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVICE_NAMES, envPrefix, type HealthReport } from '@codex/shared';
import { takeMachineTurn, type MachineTurn } from './support/machine-turn';
import { call, freePorts } from './support/launch';
import { runTypeScript, type RunningProcess } from './support/processes';

const ADMIN_PASSWORD = 'restart-test-admin-password';

/** The pid of the process whose environment names this port for this service (the launcher's child). */
function servicePid(service: string, port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(`${path.sep}main.ts`)) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (
        cmdline.includes(service === 'gateway' ? 'gateway/src/main.ts' : `services/${service}/src/main.ts`) &&
        environ.includes(`${envPrefix(service as never)}_PORT=${port}`)
      ) {
        return Number(entry);
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

interface Outcome {
  at: number;
  status: number;
  id?: string;
}

/**
 * The platform as `npm start` runs it (embedded PostgreSQL, seven service
 * processes), under write load through the gateway, while PostgreSQL is shut
 * down fast (SIGINT to the postmaster, as an operator or a crash would) and
 * a service is killed: nothing exits for good, callers see 503 only while the
 * database is away, writing works again within 5 s of its return, and every
 * write that was acknowledged is there.
 */
describe('npm start when its PostgreSQL restarts and a service dies', () => {
  let dataDir: string;
  let launcher: RunningProcess;
  let ports: number[];
  let gateway: string;

  let turn: MachineTurn | undefined;
  beforeAll(async () => {
    // Waits while another whole-platform suite runs.
    turn = await takeMachineTurn();
    dataDir = await mkdtemp(path.join(tmpdir(), 'codex-restart-'));
    // As root, the embedded server runs as a postgres system user, which must be able to enter the directory.
    await chmod(dataDir, 0o755);
    ports = await freePorts(SERVICE_NAMES.length + 1);
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      // The console has its own browser suite (admin-ui/test); this one is about the services and the database.
      CONSOLE: 'off',
      EMBEDDED_PG_PORT: String(ports[SERVICE_NAMES.length]),
      ADMIN_PASSWORD,
      BCRYPT_COST: '10',
      LOG_LEVEL: 'warn',
      // The write load is one client going flat out; the limits are not what this test is about.
      RATE_LIMIT_PER_IP: '1000000',
      RATE_LIMIT_PER_KEY: '1000000',
    };
    SERVICE_NAMES.forEach((name, index) => {
      env[`${envPrefix(name)}_PORT`] = String(ports[index]);
    });
    launcher = runTypeScript('scripts/start.ts', env);
    await launcher.waitForOutput(/Codex Metatron is up/, 120_000);
    gateway = `http://127.0.0.1:${ports[0]}`;
  }, 600_000);
  afterAll(async () => {
    launcher.child.kill('SIGINT');
    await launcher.exited;
    await rm(dataDir, { recursive: true, force: true });
    await turn?.end();
  }, 60_000);

  it('when PostgreSQL is shut down fast under write load and comes back, then no service exits, only 503s meanwhile, writes resume within 5 s, every acknowledged write is kept', async () => {
    const admin = await call(gateway, 'POST', '/api/v1/auth/admin/login', { body: { email: 'admin@codex.local', password: ADMIN_PASSWORD } });
    const created = await call(gateway, 'POST', '/api/v1/admin/tenants', { token: admin.body.accessToken, body: { name: 'Restart', slug: 'restart-co' } });
    const key = created.body.apiKey.key as string;
    const owner = await call(gateway, 'POST', '/api/v1/auth/register', { key, body: { email: 'owner@restart.example', password: 'correct horse battery' } });
    const token = owner.body.accessToken as string;
    const uptimeBefore = await Promise.all(
      ports.slice(0, SERVICE_NAMES.length).map(async (port) => (await call(`http://127.0.0.1:${port}`, 'GET', '/health')).body.uptimeSeconds as number),
    );

    const outcomes: Outcome[] = [];
    let writing = true;
    let sequence = 0;
    const writer = async () => {
      while (writing) {
        sequence += 1;
        const name = `client-${sequence}`;
        try {
          const res = await call(gateway, 'POST', '/api/v1/client/clients', { key, token, body: { name } });
          outcomes.push({ at: Date.now(), status: res.status, id: res.body.id });
        } catch {
          outcomes.push({ at: Date.now(), status: 0 });
        }
      }
    };
    const writers = Array.from({ length: 8 }, () => writer());

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    const downAt = Date.now();
    process.kill(postmaster, 'SIGINT');
    await launcher.waitForOutput(/embedded PostgreSQL is running again/, 30_000);
    const backAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    writing = false;
    await Promise.all(writers);

    // The outage really happened under load: some writes were refused while the database was away.
    expect(outcomes.filter((o) => o.status === 503).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status === 201).length).toBeGreaterThan(100);
    if (process.env.REPORT_RESTART) {
      const firstOk = outcomes.find((o) => o.at > backAt && o.status === 201)!;
      process.stderr.write(
        `restart: ${outcomes.length} writes, ${outcomes.filter((o) => o.status === 503).length} × 503, database away ${backAt - downAt} ms, first write ${firstOk.at - backAt} ms after its return\n`,
      );
    }
    const statuses = new Set(outcomes.map((o) => o.status));
    expect([...statuses].filter((s) => s !== 201 && s !== 503)).toEqual([]);
    expect(outcomes.filter((o) => o.status === 503 && (o.at < downAt || o.at > backAt + 5_000))).toEqual([]);
    const firstAfter = outcomes.find((o) => o.at > backAt && o.status === 201);
    expect(firstAfter!.at - backAt).toBeLessThan(5_000);
    expect(outcomes.filter((o) => o.at > backAt + 5_000).every((o) => o.status === 201)).toBe(true);

    // Every acknowledged write is there.
    const acknowledged = outcomes.filter((o) => o.status === 201).map((o) => o.id!);
    const stored = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await call(gateway, 'GET', `/api/v1/client/clients?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key, token });
      for (const client of page.body.items as Array<{ id: string }>) stored.add(client.id);
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);

    // No service exited: each has run since before the outage.
    const uptimeAfter = await Promise.all(
      ports.slice(0, SERVICE_NAMES.length).map(async (port) => (await call(`http://127.0.0.1:${port}`, 'GET', '/health')).body as HealthReport),
    );
    for (const [index, health] of uptimeAfter.entries()) expect(health.uptimeSeconds).toBeGreaterThanOrEqual(uptimeBefore[index]! + 8);
    expect(launcher.output()).not.toMatch(/exited \(/);
  }, 90_000);

  it('when a service process is killed, then npm start says so and starts it again, and it answers', async () => {
    const crmPort = ports[SERVICE_NAMES.indexOf('crm')]!;
    const pid = servicePid('crm', crmPort);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await launcher.waitForOutput(/crm exited \(SIGKILL\); restarting it in 1 s/, 10_000);
    let health: number | undefined;
    for (let waited = 0; health !== 200 && waited < 30_000; waited += 250) {
      health = await fetch(`http://127.0.0.1:${crmPort}/health`).then(
        (r) => r.status,
        () => undefined,
      );
      if (health !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(health).toBe(200);
    expect(servicePid('crm', crmPort)).not.toBe(pid);
  }, 60_000);
});
