/** What other parts of the repository (operator scripts, benchmarks, tests) may use of the admin service. */
export { createApp } from './app';
export { apiKeysOf, issueApiKey, revokeKey } from './domain/api-keys';
export { provisionTenant, type ProvisionedTenant, type ProvisioningDeps, type StepHook } from './domain/provisioning';
export { SpareDatabases } from './domain/spare-databases';
export { CreateKey, CreateTenant } from './domain/tenant-input';
export { publicTenant, tenantById, tenantBySlug, tenantPage } from './domain/tenants';
export { restoreTenantAccess, tenantDatabases, type TenantDatabase } from './domain/tenant-backup';
export { registerDatabaseServer } from './domain/database-servers';
export { moveTenant } from './domain/tenant-move';
