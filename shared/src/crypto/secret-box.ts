import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const FORMAT = 'v1';

export interface SecretKey {
  id: string;
  key: Buffer;
}

/**
 * Encrypts platform secrets (tenant database passwords, MFA seeds, provider
 * keys) with AES-256-GCM. Each ciphertext names the key that made it, so keys
 * rotate: new secrets use the current key, old ones still open with theirs.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;

  constructor(
    private readonly current: SecretKey,
    previous: SecretKey[] = [],
  ) {
    for (const { id, key } of [current, ...previous]) {
      if (key.length !== 32) throw new Error(`Secret key ${id} must be 32 bytes`);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error(`Secret key id ${JSON.stringify(id)} must be 1-32 of [A-Za-z0-9_-]`);
    }
    this.keys = new Map([current, ...previous].map(({ id, key }) => [id, key]));
  }

  /** `v1:<key id>:<iv>:<tag>:<ciphertext>`, base64url parts. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, this.current.key, iv);
    cipher.setAAD(Buffer.from(this.current.id));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, this.current.id, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join(':');
  }

  open(sealed: string): string {
    const [format, keyId, iv, tag, ciphertext] = sealed.split(':');
    if (format !== FORMAT || !keyId || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error('Not a sealed secret');
    }
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`Secret sealed with unknown key ${keyId}`);
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** Parses `id:base64key` entries, comma separated (the SECRETS_KEYS format). */
export function parseSecretKeys(value: string): SecretKey[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const separator = entry.indexOf(':');
      if (separator <= 0) throw new Error('each key must look like <id>:<base64 of 32 bytes>');
      return { id: entry.slice(0, separator), key: Buffer.from(entry.slice(separator + 1), 'base64') };
    });
}

/** A fresh `id:base64key` entry for SECRETS_KEYS. */
export function generateSecretKeyEntry(id = `k${Date.now().toString(36)}`): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}
