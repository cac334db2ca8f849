import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { z } from 'zod';
import { ServiceUnavailableError } from '@codex/shared';

export const MIN_PASSWORD_LENGTH = 10;
/** bcrypt ignores everything past 72 bytes; longer passwords are refused rather than silently cut. */
export const MAX_PASSWORD_BYTES = 72;

export const Password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_PASSWORD_BYTES, `must be at most ${MAX_PASSWORD_BYTES} bytes`);

/** The worker lives outside src/ so the same file serves sources, builds and tests. */
const WORKER = path.resolve(__dirname, '..', '..', 'workers', 'password-worker.cjs');

type PasswordTask = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };

/**
 * bcrypt on worker threads that run at the lowest scheduling priority: logins
 * use every core the service has spare, but never slow other requests down.
 * Checking a password for an unknown account still runs one full compare
 * against a dummy hash of the same cost, so it takes as long as a wrong one.
 */
export class PasswordHasher {
  private dummyHash?: Promise<string>;
  private readonly pool: Piscina<PasswordTask, string | boolean>;

  constructor(private readonly cost: number) {
    const threads = availableParallelism();
    // A queue this long means logins arrive faster than hashes can be made: shed them with 503.
    this.pool = new Piscina({ filename: WORKER, minThreads: 1, maxThreads: threads, maxQueue: threads * 64, idleTimeout: 60_000 });
  }

  hash(password: string): Promise<string> {
    return this.run({ op: 'hash', password, cost: this.cost }) as Promise<string>;
  }

  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
    if (!hash) {
      this.dummyHash ??= this.hash('codex-metatron-timing-equaliser');
      await this.run({ op: 'compare', password, hash: await this.dummyHash });
      return false;
    }
    return (await this.run({ op: 'compare', password, hash })) as boolean;
  }

  /** Stops the worker threads; call on shutdown. */
  close(): Promise<void> {
    return this.pool.destroy();
  }

  private async run(task: PasswordTask): Promise<string | boolean> {
    try {
      return await this.pool.run(task);
    } catch (err) {
      if ((err as Error).message?.includes('queue is at limit')) throw new ServiceUnavailableError('Too many logins at once; retry shortly', err);
      throw err;
    }
  }
}
