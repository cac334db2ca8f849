/** The seven processes of the platform and their default ports. */
export const SERVICE_PORTS = {
  gateway: 3000,
  auth: 3001,
  billing: 3002,
  subscription: 3003,
  crm: 3004,
  client: 3005,
  admin: 3006,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

export const SERVICE_NAMES = Object.keys(SERVICE_PORTS) as ServiceName[];

/** The six services behind the gateway. */
export type BackendServiceName = Exclude<ServiceName, 'gateway'>;

export const BACKEND_SERVICES = SERVICE_NAMES.filter((n): n is BackendServiceName => n !== 'gateway');

/** The services that read and write tenant databases (the gateway and admin reach them only to provision). */
export const TENANT_DATA_SERVICES: ReadonlySet<ServiceName> = new Set(['auth', 'billing', 'subscription', 'crm', 'client']);

/** `crm` → `CRM`, for environment variable names such as `CRM_PORT`. */
export function envPrefix(service: ServiceName): string {
  return service.toUpperCase();
}
