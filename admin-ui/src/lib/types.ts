import type { operations, Schemas } from '@codex-metatron/sdk';

/**
 * The platform's answers the console reads: the SDK's types, generated from
 * docs/openapi.json (the services' own schemas), so the console cannot drift
 * from the API it calls.
 */
export type ServiceStatus = Schemas['ServiceStatus'];
export type ServiceState = ServiceStatus['status'];
export type BreakerState = NonNullable<ServiceStatus['breaker']>;

export type Tenant = Schemas['Tenant'];
export type TenantStatus = Tenant['status'];
/** Every status, in the order the console lists them (checked against the API's). */
export const TENANT_STATUSES = ['provisioning', 'active', 'suspended', 'deleting', 'deleted', 'failed'] as const satisfies readonly TenantStatus[];

/** A key as listed; the answer that made it also carries the key itself, once. */
export type ApiKey = Schemas['ApiKey'] & { key?: string };
export type AuditEntry = Schemas['AuditEntry'];
export type AuditVerification = Schemas['AuditVerification'];
export type Me = Schemas['Me'];
export type TrafficMinute = Schemas['TrafficMinute'];
/** GET /api/v1/admin/traffic: requests through every gateway per minute. */
export type Traffic = operations['getTraffic']['responses'][200]['content']['application/json'];

/** What /console/api/dashboard answers: one consistent snapshot, and the API calls it was read from. */
export interface DashboardSnapshot {
  fetchedAt: string;
  services: ServiceStatus[];
  tenantsByStatus: Record<TenantStatus, number>;
  traffic: Traffic;
  sources: string[];
}
