import { createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_MAX_TTL_SECONDS, withTransaction, type Pool, type SecretBox } from '@codex/shared';
import type { JWK } from 'jose';
import { findPublishedKeys, insertKeyIfNone, promoteNextKey, retireCurrentKey, type SigningKeyRecord } from '../db/signing-keys-repo';

/** Retired keys stay in the JWKS this long: every token they signed has expired by then. */
const RETIRED_KEY_GRACE_SECONDS = ACCESS_TOKEN_MAX_TTL_SECONDS + 5 * 60;

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

function newKeyPair(secrets: SecretBox): { kid: string; publicJwk: JWK; sealedPrivateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
  return { kid, publicJwk, sealedPrivateKey: secrets.seal(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()) };
}

/**
 * The auth service's signing keys (ES256): one current, one next (published
 * but not yet signing), retired ones still published until their tokens
 * expire. Keys live sealed in the master database so every auth instance
 * signs with the same current key; each instance re-reads them every
 * `refreshMs`. Rotation makes the next key current, so every key has been in
 * the JWKS before any token carries it: a rotation never opens a window in
 * which fresh tokens fail to verify.
 */
export class KeyRing {
  private loaded?: { at: number; keys: SigningKeyRecord[] };
  private readonly privateKeys = new Map<string, KeyObject>();

  constructor(
    private readonly db: Pool,
    private readonly secrets: SecretBox,
    private readonly refreshMs = 30_000,
  ) {}

  /** The key new tokens are signed with; it and the next key are made on first use. */
  async current(): Promise<SigningKey> {
    let keys = await this.keys();
    if (!keys.some((key) => key.status === 'current') || !keys.some((key) => key.status === 'next')) {
      if (!keys.some((key) => key.status === 'current')) await insertKeyIfNone(this.db, 'current', newKeyPair(this.secrets));
      await insertKeyIfNone(this.db, 'next', newKeyPair(this.secrets));
      keys = await this.keys(true);
    }
    const record = keys.find((key) => key.status === 'current')!;
    let privateKey = this.privateKeys.get(record.kid);
    if (!privateKey) {
      privateKey = createPrivateKey(this.secrets.open(record.sealedPrivateKey));
      this.privateKeys.set(record.kid, privateKey);
    }
    return { kid: record.kid, privateKey };
  }

  /** The public keys to verify tokens with (RFC 7517 JWK Set). */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.current();
    return { keys: (await this.keys()).map((key) => key.publicJwk) };
  }

  /**
   * Retires the current key (still published for its tokens' lifetime), makes
   * the published next key current and publishes a new next one. Returns the
   * new current key's id.
   */
  async rotate(): Promise<string> {
    const current = await withTransaction(this.db, async (tx) => {
      await retireCurrentKey(tx);
      let promoted = await promoteNextKey(tx);
      if (!promoted) {
        const key = newKeyPair(this.secrets);
        await insertKeyIfNone(tx, 'current', key);
        promoted = key.kid;
      }
      await insertKeyIfNone(tx, 'next', newKeyPair(this.secrets));
      return promoted;
    });
    this.loaded = undefined;
    return current;
  }

  private async keys(reload = false): Promise<SigningKeyRecord[]> {
    if (reload || !this.loaded || Date.now() - this.loaded.at > this.refreshMs) {
      this.loaded = { at: Date.now(), keys: await findPublishedKeys(this.db, RETIRED_KEY_GRACE_SECONDS) };
    }
    return this.loaded.keys;
  }
}
