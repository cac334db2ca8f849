import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SERVICE_NAMES, createLogger, envPrefix, loadConfig, loadLauncherConfig, type ServiceName } from '@codex/shared';
import { adminNotice, type BootstrapResult } from './lib/bootstrap-admin';
import { portHolder, portInUse } from './lib/port-holder';
import { openPlatformDatabase, type PlatformDatabase } from './lib/database';
import { localSecrets } from './lib/local-secrets';
import { buildConsole, consoleArgs, consoleBuildIsCurrent, consoleEnv } from './lib/console';
import { preparePlatform } from './lib/prepare-platform';
import { Backoff, ProcessGroup } from './lib/process-group';
import { OperatorError, runScript } from './lib/run-script';

const ROOT = path.resolve(__dirname, '..');
const ENTRY: Record<ServiceName, string> = Object.fromEntries(
  SERVICE_NAMES.map((name) => [name, path.join(ROOT, name === 'gateway' ? 'gateway' : `services/${name}`, 'src', 'main.ts')]),
) as Record<ServiceName, string>;

/** Waits until the console serves its sign-in page (Next's dev server compiles it on this first request). */
async function waitForConsole(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/sign-in`, { signal: AbortSignal.timeout(30_000) })).ok) return true;
    } catch {
      // not listening yet
    }
    await delay(500);
  }
  return false;
}

/** Waits for a healthy answer from our own process (its /health names this start's instance id), not anyone's on that port. */
async function waitForHealth(url: string, instanceId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok && ((await response.json()) as { instance?: string }).instance === instanceId) return true;
    } catch {
      // not listening yet
    }
    await delay(250);
  }
  return false;
}

/**
 * `npm start`: database (embedded unless DATABASE_URL is set), migrations, the
 * first super admin, then the seven services as child processes. Ctrl-C stops
 * the services, then the database (see relayToDetachedLauncher).
 */
async function main(): Promise<void> {
  const launcher = loadLauncherConfig();
  const logger = createLogger('launcher', { level: launcher.logLevel });
  const instanceId = randomBytes(8).toString('hex');

  // Every port free before anything starts: another platform (or anything else) answering on one would
  // otherwise look healthy, then our service would die on EADDRINUSE.
  const planned = loadConfig('gateway', { NODE_ENV: 'development', ...process.env, DATABASE_URL: 'postgres://unused@127.0.0.1/unused' });
  const busy: string[] = [];
  for (const name of SERVICE_NAMES) {
    const port = Number(new URL(planned.serviceUrls[name]).port);
    if (await portInUse(port, planned.host)) {
      const holder = portHolder(port);
      busy.push(
        `  ${name.padEnd(13)} port ${port} is in use${holder ? ` by pid ${holder.pid} (${holder.command.slice(0, 120)})` : ''}; stop it or set ${envPrefix(name)}_PORT`,
      );
    }
  }
  if (launcher.console !== 'off' && (await portInUse(launcher.consolePort, planned.host))) {
    busy.push(`  ${'console'.padEnd(13)} port ${launcher.consolePort} is in use; stop it, set CONSOLE_PORT, or CONSOLE=off`);
  }
  if (busy.length) throw new OperatorError(`cannot start: ports are taken\n${busy.join('\n')}`);

  // The console's production build (about half a minute, once) runs while the database and services start.
  const needsBuild = launcher.console === 'production' && !consoleBuildIsCurrent();
  if (needsBuild) process.stdout.write('Building the console (admin-ui) once; later starts reuse the build…\n');
  const consoleBuilt = needsBuild ? buildConsole((line) => logger.debug('console build', { line })) : Promise.resolve();
  consoleBuilt.catch(() => undefined);

  const database: PlatformDatabase = await openPlatformDatabase(launcher);
  const env = {
    NODE_ENV: 'development',
    ...process.env,
    ...(await localSecrets(launcher.dataDir, process.env)),
    DATABASE_URL: database.masterUrl,
    INSTANCE_ID: instanceId,
    // The audit log's signed checkpoints and the gateway's usage spool belong with this platform's data (DATA_DIR),
    // not with whichever directory it was started from: two platforms must not read each other's.
    AUDIT_CHECKPOINT_FILE: process.env.AUDIT_CHECKPOINT_FILE ?? path.join(launcher.dataDir, 'audit-checkpoints.jsonl'),
    USAGE_SPOOL_DIR: process.env.USAGE_SPOOL_DIR ?? path.join(launcher.dataDir, 'usage-spool'),
  };
  const services = loadConfig('gateway', env);

  let stopping = false;
  let started = false;
  const consoleUrl = `http://${services.host}:${launcher.consolePort}/console`;
  const consoleMode = launcher.console === 'off' ? undefined : launcher.console;
  const backoff = new Map([...SERVICE_NAMES, 'console'].map((name) => [name, new Backoff()]));
  const startService = (name: ServiceName | 'console') => {
    backoff.get(name)!.started();
    if (name === 'console') {
      group.start(
        name,
        process.execPath,
        consoleArgs(consoleMode!, launcher.consolePort, services.host),
        consoleEnv(env, services.serviceUrls.gateway, consoleMode!),
      );
    } else {
      group.start(name, process.execPath, ['--enable-source-maps', '--import', 'tsx', ENTRY[name]], env);
    }
  };
  // A service that dies after start-up is started again, after a pause that grows while it keeps dying.
  const group = new ProcessGroup([...SERVICE_NAMES, 'console'], (name, code, signal) => {
    if (stopping) return;
    if (!started) {
      logger.error('service exited during start-up', { serviceName: name, code, signal });
      void shutdown(1);
      return;
    }
    const waitMs = backoff.get(name as ServiceName)!.next();
    process.stdout.write(`${name} exited (${signal ?? `code ${code}`}); restarting it in ${waitMs / 1000} s\n`);
    setTimeout(() => {
      if (!stopping) startService(name as ServiceName | 'console');
    }, waitMs).unref();
  });

  const shutdown = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping services…\n');
    // The gateway first (it stops taking requests and sends its last key-usage report to the admin
    // service), then the services behind it.
    await group.stop(services.shutdownTimeoutMs + 5_000, ['gateway']);
    await group.stop(services.shutdownTimeoutMs + 5_000);
    if (database.embedded) {
      process.stdout.write('Stopping embedded PostgreSQL…\n');
      await database.embedded.stop();
    }
    process.stdout.write('Stopped.\n');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  // The foreground relay is gone (killed, or its terminal closed): stop in order rather than linger.
  process.on('disconnect', () => void shutdown(0));

  let admin: BootstrapResult;
  try {
    admin = await preparePlatform(database.masterUrl, launcher, logger);
  } catch (err) {
    await shutdown(1);
    throw err;
  }

  for (const name of SERVICE_NAMES) startService(name);
  database.embedded?.supervise((event) => process.stdout.write(`${event}\n`));
  const healthy = await Promise.all(SERVICE_NAMES.map((name) => waitForHealth(services.serviceUrls[name], instanceId, 60_000)));
  if (stopping) return;
  const failed = SERVICE_NAMES.filter((_, index) => !healthy[index]);
  if (failed.length > 0) {
    logger.error('services did not become healthy', { services: failed });
    await shutdown(1);
    return;
  }
  if (consoleMode) {
    try {
      await consoleBuilt;
    } catch (err) {
      logger.error('the console could not be built', { err });
      await shutdown(1);
      return;
    }
    startService('console');
    if (!(await waitForConsole(consoleUrl, 120_000))) {
      if (stopping) return;
      logger.error('the console did not start', { url: consoleUrl });
      await shutdown(1);
      return;
    }
  }
  started = true;

  const rows = SERVICE_NAMES.map((name) => `  ${name.padEnd(13)} ${services.serviceUrls[name]}`);
  process.stdout.write(
    [
      '',
      'Codex Metatron is up.',
      ...rows,
      `  API docs      ${services.serviceUrls.gateway}/docs`,
      ...(consoleMode ? [`  console       ${consoleUrl}/${consoleMode === 'dev' ? ' (dev mode)' : ''}`] : []),
      `  database      ${database.description}`,
      '',
      ...(await adminNotice(admin, launcher)),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
}

const DETACHED = 'CODEX_LAUNCHER_DETACHED';

/**
 * Ctrl-C in a terminal signals the whole foreground process group: PostgreSQL
 * would start a fast shutdown, cutting the connections of services that are
 * still draining. So the launcher runs in a process group of its own, and this
 * foreground process only relays: SIGINT or SIGTERM become one SIGTERM to the
 * launcher, which stops the services, then the database. Its exit code is ours.
 */
function relayToDetachedLauncher(): void {
  const launcher = spawn(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [DETACHED]: '1' },
  });
  const relay = () => launcher.kill('SIGTERM');
  process.on('SIGINT', relay);
  process.on('SIGTERM', relay);
  launcher.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.env[DETACHED]) runScript('start', main);
else relayToDetachedLauncher();
