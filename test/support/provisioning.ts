import { randomBytes } from 'node:crypto';
import type { ServiceDeps } from '@codex/shared';
import { provisionTenant, type ProvisionedTenant } from '../../services/admin/src';

/** Provisions a real tenant (own database and role) for a test; clean up with dropProvisionedTenants. */
export function provisionTestTenant(deps: ServiceDeps, templateDatabase: string, slug = `t-${randomBytes(4).toString('hex')}`): Promise<ProvisionedTenant> {
  return provisionTenant(
    { db: deps.db, serverUrl: deps.config.databaseUrl, templateDatabase, secrets: deps.secrets, logger: deps.logger, settings: deps.platformConfig },
    { slug, name: slug, plan: 'free' },
  );
}
