import { createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_TTL_SECONDS, withTransaction, type Pool, type SecretBox } from '@codex/shared';
import type { JWK } from 'jose';
import { findPublishedKeys, insertCurrentKeyIfNone, retireCurrentKey, type SigningKeyRecord } from '../db/signing-keys-repo';

/** Retired keys stay in the JWKS this long: every token they signed has expired by then. */
const RETIRED_KEY_GRACE_SECONDS = ACCESS_TOKEN_TTL_SECONDS + 5 * 60;

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
 * The auth service's signing keys (ES256, one current, retired ones still
 * published until their tokens expire). Keys live sealed in the master
 * database so every auth instance signs with the same current key; each
 * instance re-reads them every `refreshMs` so a rotation reaches all of them.
 */
export class KeyRing {
  private loaded?: { at: number; keys: SigningKeyRecord[] };
  private readonly privateKeys = new Map<string, KeyObject>();

  constructor(
    private readonly db: Pool,
    private readonly secrets: SecretBox,
    private readonly refreshMs = 30_000,
  ) {}

  /** The key new tokens are signed with; made on first use. */
  async current(): Promise<SigningKey> {
    let record = (await this.keys()).find((key) => key.status === 'current');
    if (!record) {
      await insertCurrentKeyIfNone(this.db, newKeyPair(this.secrets));
      record = (await this.keys(true)).find((key) => key.status === 'current')!;
    }
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

  /** Retires the current key (still published for its tokens' lifetime) and makes a new one current. */
  async rotate(): Promise<string> {
    const next = newKeyPair(this.secrets);
    await withTransaction(this.db, async (tx) => {
      await retireCurrentKey(tx);
      await insertCurrentKeyIfNone(tx, next);
    });
    this.loaded = undefined;
    return next.kid;
  }

  private async keys(reload = false): Promise<SigningKeyRecord[]> {
    if (reload || !this.loaded || Date.now() - this.loaded.at > this.refreshMs) {
      this.loaded = { at: Date.now(), keys: await findPublishedKeys(this.db, RETIRED_KEY_GRACE_SECONDS) };
    }
    return this.loaded.keys;
  }
}
