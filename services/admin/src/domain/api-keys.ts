import { ErrorCode, ConflictError, generateApiKey, NotFoundError, type Queryable } from '@codex/shared';
import { insertApiKey } from '../db/api-keys-repo';
import { findTenantById } from '../db/tenants-repo';
import type { IssuedApiKey } from './provisioning';

/** Another key for an active or suspended tenant; the secret is returned once. */
export async function issueApiKey(db: Queryable, tenantId: string, name: string): Promise<IssuedApiKey> {
  const tenant = await findTenantById(db, tenantId);
  if (!tenant) throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
  if (tenant.status !== 'active' && tenant.status !== 'suspended') {
    throw new ConflictError(`Tenant is ${tenant.status}; keys are issued once it is provisioned`, undefined, ErrorCode.TENANT_NOT_READY);
  }
  const generated = generateApiKey();
  return { ...(await insertApiKey(db, tenantId, name, generated)), key: generated.key };
}
