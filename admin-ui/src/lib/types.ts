/** The platform's answers the console reads, as its OpenAPI document describes them (docs/openapi.json). */

export type ServiceState = 'unknown' | 'up' | 'degraded' | 'down';
export type BreakerState = 'closed' | 'half-open' | 'open';

export interface ServiceStatus {
  name: string;
  url: string;
  status: ServiceState;
  statusSince: string | null;
  lastCheckedAt: string | null;
  latencyMs: number | null;
  details: Record<string, unknown>;
  breaker: BreakerState | null;
  uptime24hPercent: number;
}

export const TENANT_STATUSES = ['provisioning', 'active', 'suspended', 'deleting', 'deleted', 'failed'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  status: TenantStatus;
  suspendedFor: 'admin' | 'unpaid' | null;
  plan: string | null;
  dbServer: string | null;
  dbName: string;
  deletedAt: string | null;
  purgeAfter: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  replacedBy: string | null;
  createdAt: string;
  /** Present once: in the answer that made it. */
  key?: string;
}

export interface AuditEntry {
  seq: number;
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  tenantId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

export interface AuditVerification {
  valid: boolean;
  rows: number;
  head: number;
  checkpoints: { total: number; verified: number; invalid: number; latest: { seq: number; at: string } | null };
  firstBreak: { seq: number; problem: string; detail: string } | null;
}

export interface Me {
  id: string;
  email: string;
  name: string | null;
  role: string;
  permissions: string[];
}

export interface TrafficMinute {
  minute: string;
  requests: number;
  clientErrors: number;
  serverErrors: number;
}

/** GET /api/v1/admin/traffic: requests through every gateway per minute. */
export interface Traffic {
  from: string;
  to: string;
  lastMinuteRequests: number;
  requests: number;
  serverErrorPercent: number;
  clientErrorPercent: number;
  items: TrafficMinute[];
  current: TrafficMinute;
  services: Array<{ service: string; requests: number; clientErrors: number; serverErrors: number; serverErrorPercent: number }>;
}

/** What /console/api/dashboard answers: one consistent snapshot, and the API calls it was read from. */
export interface DashboardSnapshot {
  fetchedAt: string;
  services: ServiceStatus[];
  tenantsByStatus: Record<TenantStatus, number>;
  traffic: Traffic;
  sources: string[];
}
