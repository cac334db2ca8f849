import {
  ErrorCode,
  ConflictError,
  generateApiKey,
  NotFoundError,
  recordAudit,
  withTransaction,
  type AuditActor,
  type Pool,
  type Queryable,
} from '@codex/shared';
import { insertApiKey, listApiKeys, recordApiKeyUsage, revokeApiKey, type ApiKey } from '../db/api-keys-repo';
import type { IssuedApiKey } from './provisioning';
import { tenantById } from './tenants';

/** Another key for an active or suspended tenant; the secret is returned once. */
export async function issueApiKey(db: Pool, tenantId: string, name: string, actor: AuditActor): Promise<IssuedApiKey> {
  const tenant = await tenantById(db, tenantId);
  if (tenant.status !== 'active' && tenant.status !== 'suspended') {
    throw new ConflictError(`Tenant is ${tenant.status}; keys are issued once it is provisioned`, undefined, ErrorCode.TENANT_NOT_READY);
  }
  const generated = generateApiKey();
  return withTransaction(db, async (tx) => {
    const stored = await insertApiKey(tx, tenantId, name, generated);
    await recordAudit(tx, {
      ...actor,
      tenantId,
      action: 'api_key.issued',
      targetType: 'api_key',
      targetId: stored.id,
      details: { after: { name, prefix: stored.prefix } },
    });
    return { ...stored, key: generated.key };
  });
}

/** A tenant's keys (prefixes only; secrets are never kept); 404 for an unknown tenant. */
export async function apiKeysOf(db: Queryable, tenantId: string): Promise<ApiKey[]> {
  await tenantById(db, tenantId);
  return listApiKeys(db, tenantId);
}

/** Revokes one key of the tenant; 404 when the tenant has no such key. */
export async function revokeKey(db: Pool, tenantId: string, keyId: string, actor: AuditActor): Promise<void> {
  await withTransaction(db, async (tx) => {
    if (!(await revokeApiKey(tx, tenantId, keyId))) throw new NotFoundError('API key not found', ErrorCode.API_KEY_NOT_FOUND);
    await recordAudit(tx, { ...actor, tenantId, action: 'api_key.revoked', targetType: 'api_key', targetId: keyId });
  });
}

/** Notes when keys were last used (reported in batches by the gateway); a report never moves a last use backwards. */
export function noteKeyUsage(db: Queryable, usage: Array<{ id: string; lastUsedAt: string }>): Promise<void> {
  return recordApiKeyUsage(db, usage);
}
