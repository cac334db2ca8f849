import { createHash, randomBytes } from 'node:crypto';

/** Keys look like `cmk_<12 visible chars>_<secret>`; the visible part is the prefix shown in listings. */
const API_KEY_PATTERN = /^cmk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  /** The full key, shown to its owner once and never stored. */
  key: string;
  prefix: string;
  hash: string;
}

/**
 * API keys carry 256 random bits, so a single SHA-256 is a safe way to store
 * them and fast enough to look up on every request (unlike passwords).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): GeneratedApiKey {
  const prefix = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  const key = `cmk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: `cmk_${prefix}`, hash: hashApiKey(key) };
}

/** Cheap shape check before any lookup, so garbage never reaches the database. */
export function looksLikeApiKey(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}
