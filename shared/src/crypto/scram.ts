import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * PBKDF2 rounds for machine-generated database passwords. PostgreSQL's 4,096
 * protect passwords a person chose; ours are 32 random bytes, beyond guessing
 * at any count, while every new connection pays the rounds again in the
 * client (0.9 ms of CPU at 4,096 on this project's benchmark box, more on
 * slower ones, for every tenant-pool miss).
 */
export const MACHINE_PASSWORD_SCRAM_ITERATIONS = 16;

/**
 * The SCRAM-SHA-256 secret PostgreSQL stores for `password` (RFC 5802/7677,
 * PostgreSQL's `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`).
 * Given as a role's PASSWORD it is kept as it is, so the iteration count is
 * ours to choose on every PostgreSQL version (`scram_iterations` needs 16+).
 * `password` must be ASCII without control characters (SASLprep leaves it unchanged).
 */
export function scramSecret(password: string, iterations = MACHINE_PASSWORD_SCRAM_ITERATIONS, salt: Buffer = randomBytes(16)): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('scramSecret takes printable ASCII passwords only');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
