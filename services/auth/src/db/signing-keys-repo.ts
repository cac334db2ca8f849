import type { Queryable } from '@codex/shared';
import type { JWK } from 'jose';

/** next: published, not yet signing; current: signs new tokens; retired: published until its tokens expire. */
export type SigningKeyStatus = 'next' | 'current' | 'retired';

export interface SigningKeyRow {
  kid: string;
  public_jwk: JWK;
  private_key: string;
  status: SigningKeyStatus;
  retired_at: Date | null;
}

export interface SigningKeyRecord {
  kid: string;
  publicJwk: JWK;
  /** Sealed PKCS#8 PEM. */
  sealedPrivateKey: string;
  status: SigningKeyStatus;
  retiredAt: Date | null;
}

function toRecord(row: SigningKeyRow): SigningKeyRecord {
  return { kid: row.kid, publicJwk: row.public_jwk, sealedPrivateKey: row.private_key, status: row.status, retiredAt: row.retired_at };
}

/** The next and current keys and the retired keys whose tokens may still be valid. */
export async function findPublishedKeys(db: Queryable, retiredWithinSeconds: number): Promise<SigningKeyRecord[]> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, public_jwk, private_key, status, retired_at FROM signing_keys
      WHERE status IN ('next', 'current') OR retired_at > now() - make_interval(secs => $1)
      ORDER BY created_at DESC`,
    [retiredWithinSeconds],
  );
  return rows.map(toRecord);
}

/** Inserts a key in `status` (next or current) unless one exists (the unique indexes settle races). */
export async function insertKeyIfNone(
  db: Queryable,
  status: 'next' | 'current',
  key: { kid: string; publicJwk: JWK; sealedPrivateKey: string },
): Promise<void> {
  await db.query(
    `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, status)
     VALUES ($1, 'ES256', $2, $3, $4) ON CONFLICT DO NOTHING`,
    [key.kid, key.publicJwk, key.sealedPrivateKey, status],
  );
}

export async function retireCurrentKey(db: Queryable): Promise<void> {
  await db.query(`UPDATE signing_keys SET status = 'retired', retired_at = now() WHERE status = 'current'`);
}

/** The published next key becomes current; returns its kid, or undefined when there was none. */
export async function promoteNextKey(db: Queryable): Promise<string | undefined> {
  const { rows } = await db.query<{ kid: string }>(`UPDATE signing_keys SET status = 'current' WHERE status = 'next' RETURNING kid`);
  return rows[0]?.kid;
}
