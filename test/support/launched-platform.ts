import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envPrefix, SERVICE_NAMES, type ServiceName } from '@codex/shared';
import { serverQuery, testServerUrl } from './database';
import { freePorts } from './launch';
import { REPO_ROOT, runTypeScript } from './processes';
import { testEnv } from './test-env';
import { dropProvisionedTenants } from './tenants';

export interface LaunchedPlatform {
  /** The gateway's base URL. */
  gateway: string;
  portOf(service: ServiceName): number;
  /** Free ports beyond the platform's own, for what the test runs beside it (the console, an app). */
  spare: number[];
  /** Stops the platform (as Ctrl-C does), then drops its databases and data directory. */
  stop(): Promise<void>;
}

/**
 * The whole platform as `npm start` runs it (the launcher, every service a
 * process of its own) on a master database of its own and free ports, with
 * `env` on top; it resolves once the launcher says it is up.
 */
export async function launchPlatform(name: string, env: Record<string, string>, options: { sparePorts?: number } = {}): Promise<LaunchedPlatform> {
  const database = `cm_${name}_${testEnv('runId')}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = testServerUrl(database);
  const dataDir = await mkdtemp(path.join(tmpdir(), `codex-${name}-`));
  const ports = await freePorts(SERVICE_NAMES.length + (options.sparePorts ?? 0));
  const portOf = (service: ServiceName) => ports[SERVICE_NAMES.indexOf(service)]!;
  const launcher = runTypeScript('scripts/start.ts', {
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    TENANT_TEMPLATE_DATABASE: `${database}_tpl`,
    BCRYPT_COST: '10',
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(SERVICE_NAMES.map((service) => [`${envPrefix(service)}_PORT`, String(portOf(service))])),
    ...env,
  });
  const stop = async () => {
    launcher.child.kill('SIGINT');
    await launcher.exited;
    await dropProvisionedTenants(databaseUrl).catch(() => undefined);
    await serverQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await serverQuery(`DROP DATABASE IF EXISTS ${database}_tpl WITH (FORCE)`);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await launcher.waitForOutput(/Codex Metatron is up/, 150_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { gateway: `http://127.0.0.1:${portOf('gateway')}`, portOf, spare: ports.slice(SERVICE_NAMES.length), stop };
}

/** A suite's measurements for docs/benchmarks.md, as bench/results/<name>-<Node major>.json. */
export async function recordMeasurements(name: string, measurements: Record<string, unknown>): Promise<void> {
  if (!Object.keys(measurements).length) return;
  await mkdir(path.join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(path.join(REPO_ROOT, 'bench', 'results', `${name}-${process.versions.node.split('.')[0]}.json`), JSON.stringify(measurements, null, 2));
}
