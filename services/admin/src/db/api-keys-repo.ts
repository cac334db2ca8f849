import type { GeneratedApiKey, Queryable } from '@codex/shared';

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** When a rotated key stops working; null for a key without an end. */
  expiresAt: Date | null;
  /** The key that replaced it in a rotation. */
  replacedBy: string | null;
  /** The admin (or `cli:<user>`, `provisioning`) who issued it; null for keys issued before this was kept. */
  createdBy: string | null;
  createdAt: Date;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
  expires_at: Date | null;
  replaced_by: string | null;
  created_by: string | null;
  created_at: Date;
}

const COLUMNS = 'id, tenant_id, name, prefix, last_used_at, revoked_at, expires_at, replaced_by, created_by, created_at';

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    expiresAt: row.expires_at,
    replacedBy: row.replaced_by,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

export async function insertApiKey(db: Queryable, tenantId: string, name: string, key: GeneratedApiKey, createdBy: string | null = null): Promise<ApiKey> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [tenantId, name, key.prefix, key.hash, createdBy],
  );
  return toApiKey(rows[0]!);
}

/** One key of one tenant, locked for a change; undefined when that tenant has no such key. */
export async function findApiKeyForUpdate(db: Queryable, tenantId: string, keyId: string): Promise<ApiKey | undefined> {
  const { rows } = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [keyId, tenantId]);
  return rows[0] && toApiKey(rows[0]);
}

/** Ends a rotated key at `expiresAt` (never later than an end it already had) and names its successor. */
export async function retireApiKey(db: Queryable, keyId: string, successorId: string, expiresAt: Date): Promise<ApiKey> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET expires_at = LEAST(coalesce(expires_at, $3), $3), replaced_by = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
    [keyId, successorId, expiresAt],
  );
  return toApiKey(rows[0]!);
}

export async function listApiKeys(db: Queryable, tenantId: string): Promise<ApiKey[]> {
  const { rows } = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC`, [tenantId]);
  return rows.map(toApiKey);
}

/** Revokes one key of one tenant; undefined when that tenant has no such key. */
export async function revokeApiKey(db: Queryable, tenantId: string, keyId: string): Promise<ApiKey | undefined> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND tenant_id = $2 RETURNING ${COLUMNS}`,
    [keyId, tenantId],
  );
  return rows[0] && toApiKey(rows[0]);
}

/** Revokes every live key of a tenant (a provisioning retry replaces keys nobody has seen). */
export async function revokeAllApiKeys(db: Queryable, tenantId: string): Promise<void> {
  await db.query('UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL', [tenantId]);
}

/** Moves each key's last use forward (never back: batches from several gateways may arrive out of order). */
export async function recordApiKeyUsage(db: Queryable, usage: Array<{ id: string; lastUsedAt: string }>): Promise<void> {
  await db.query(
    `UPDATE api_keys k SET last_used_at = u.last_used_at
       FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, last_used_at timestamptz)
      WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.last_used_at)`,
    [JSON.stringify(usage.map((u) => ({ id: u.id, last_used_at: u.lastUsedAt })))],
  );
}
