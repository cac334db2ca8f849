import type { Queryable } from '@codex/shared';
import type { JWK } from 'jose';

export interface SigningKeyRow {
  kid: string;
  public_jwk: JWK;
  private_key: string;
  status: 'current' | 'retired';
  retired_at: Date | null;
}

export interface SigningKeyRecord {
  kid: string;
  publicJwk: JWK;
  /** Sealed PKCS#8 PEM. */
  sealedPrivateKey: string;
  status: 'current' | 'retired';
  retiredAt: Date | null;
}

function toRecord(row: SigningKeyRow): SigningKeyRecord {
  return { kid: row.kid, publicJwk: row.public_jwk, sealedPrivateKey: row.private_key, status: row.status, retiredAt: row.retired_at };
}

/** The current key and the retired keys whose tokens may still be valid. */
export async function findPublishedKeys(db: Queryable, retiredWithinSeconds: number): Promise<SigningKeyRecord[]> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, public_jwk, private_key, status, retired_at FROM signing_keys
      WHERE status = 'current' OR retired_at > now() - make_interval(secs => $1)
      ORDER BY created_at DESC`,
    [retiredWithinSeconds],
  );
  return rows.map(toRecord);
}

/** Inserts a current key unless one exists (the unique index settles races). */
export async function insertCurrentKeyIfNone(db: Queryable, key: { kid: string; publicJwk: JWK; sealedPrivateKey: string }): Promise<void> {
  await db.query(
    `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, status)
     VALUES ($1, 'ES256', $2, $3, 'current') ON CONFLICT DO NOTHING`,
    [key.kid, key.publicJwk, key.sealedPrivateKey],
  );
}

export async function retireCurrentKey(db: Queryable): Promise<void> {
  await db.query(`UPDATE signing_keys SET status = 'retired', retired_at = now() WHERE status = 'current'`);
}
