import {
  ErrorCode,
  ConflictError,
  generateApiKey,
  NotFoundError,
  recordAccessChange,
  recordAudit,
  withTransaction,
  type AuditActor,
  type Pool,
  type Queryable,
} from '@codex/shared';
import { findApiKeyForUpdate, insertApiKey, listApiKeys, recordApiKeyUsage, retireApiKey, revokeApiKey, type ApiKey } from '../db/api-keys-repo';
import type { IssuedApiKey } from './provisioning';
import { tenantById } from './tenants';

/** Another key for an active or suspended tenant; the secret is returned once. */
export async function issueApiKey(db: Pool, tenantId: string, name: string, actor: AuditActor): Promise<IssuedApiKey> {
  await assertIssuesKeys(db, tenantId);
  const generated = generateApiKey();
  return withTransaction(db, async (tx) => {
    const stored = await insertApiKey(tx, tenantId, name, generated, actor.actorId ?? null);
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

async function assertIssuesKeys(db: Queryable, tenantId: string): Promise<void> {
  const tenant = await tenantById(db, tenantId);
  if (tenant.status !== 'active' && tenant.status !== 'suspended') {
    throw new ConflictError(`Tenant is ${tenant.status}; keys are issued once it is provisioned`, undefined, ErrorCode.TENANT_NOT_READY);
  }
}

/**
 * Replaces a live key: the new one works at once, the old one until `overlapSeconds` from now, so the
 * tenant app can roll out the new key before the old one stops. A key is rotated once; rotating a
 * revoked, expired or already rotated key is 409 API_KEY_INACTIVE.
 */
export async function rotateApiKey(
  db: Pool,
  tenantId: string,
  keyId: string,
  options: { overlapSeconds: number; name?: string },
  actor: AuditActor,
): Promise<{ key: IssuedApiKey; previous: ApiKey }> {
  await assertIssuesKeys(db, tenantId);
  const generated = generateApiKey();
  return withTransaction(db, async (tx) => {
    const current = await findApiKeyForUpdate(tx, tenantId, keyId);
    if (!current) throw new NotFoundError('API key not found', ErrorCode.API_KEY_NOT_FOUND);
    const ended = current.revokedAt
      ? 'revoked'
      : current.replacedBy
        ? 'already rotated'
        : current.expiresAt && current.expiresAt <= new Date()
          ? 'expired'
          : undefined;
    if (ended) throw new ConflictError(`This key is ${ended}; issue a new key instead`, { keyId }, ErrorCode.API_KEY_INACTIVE);
    const stored = await insertApiKey(tx, tenantId, options.name ?? current.name, generated, actor.actorId ?? null);
    const previous = await retireApiKey(tx, current.id, stored.id, new Date(Date.now() + options.overlapSeconds * 1000));
    await recordAccessChange(tx, { kind: 'key_expiry_changed', tenantId, keyId: current.id });
    await recordAudit(tx, {
      ...actor,
      tenantId,
      action: 'api_key.rotated',
      targetType: 'api_key',
      targetId: current.id,
      details: {
        before: { prefix: current.prefix, expiresAt: current.expiresAt },
        after: { prefix: previous.prefix, expiresAt: previous.expiresAt, replacedBy: stored.id, replacedByPrefix: stored.prefix },
      },
    });
    return { key: { ...stored, key: generated.key }, previous };
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
    await recordAccessChange(tx, { kind: 'key_revoked', tenantId, keyId });
    await recordAudit(tx, { ...actor, tenantId, action: 'api_key.revoked', targetType: 'api_key', targetId: keyId });
  });
}

/** Notes when keys were last used (reported in batches by the gateway); a report never moves a last use backwards. */
export function noteKeyUsage(db: Queryable, usage: Array<{ id: string; lastUsedAt: string }>): Promise<void> {
  return recordApiKeyUsage(db, usage);
}
