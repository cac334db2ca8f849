import type { GeneratedApiKey, Queryable } from '@codex/shared';

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

const COLUMNS = 'id, tenant_id, name, prefix, last_used_at, revoked_at, created_at';

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  };
}

export async function insertApiKey(db: Queryable, tenantId: string, name: string, key: GeneratedApiKey): Promise<ApiKey> {
  const { rows } = await db.query<ApiKeyRow>(`INSERT INTO api_keys (tenant_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`, [
    tenantId,
    name,
    key.prefix,
    key.hash,
  ]);
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
