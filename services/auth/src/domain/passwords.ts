import bcrypt from 'bcrypt';
import { z } from 'zod';

export const MIN_PASSWORD_LENGTH = 10;
/** bcrypt ignores everything past 72 bytes; longer passwords are refused rather than silently cut. */
export const MAX_PASSWORD_BYTES = 72;

export const Password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_PASSWORD_BYTES, `must be at most ${MAX_PASSWORD_BYTES} bytes`);

/**
 * bcrypt on the libuv thread pool (never blocking the event loop). Checking a
 * password for an unknown account still runs one full compare against a dummy
 * hash of the same cost, so the answer takes as long as for a wrong password.
 */
export class PasswordHasher {
  private dummyHash?: Promise<string>;

  constructor(private readonly cost: number) {}

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.cost);
  }

  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
    if (!hash) {
      this.dummyHash ??= bcrypt.hash('codex-metatron-timing-equaliser', this.cost);
      await bcrypt.compare(password, await this.dummyHash);
      return false;
    }
    return bcrypt.compare(password, hash);
  }
}
