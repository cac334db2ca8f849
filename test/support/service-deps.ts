import { createLogger, createServiceDeps, loadConfig, type ServiceDeps, type ServiceName } from '@codex/shared';

/**
 * Real dependencies for a service under test, on the given master database;
 * extra environment entries override the defaults (ports, URLs, limits).
 */
export function createTestDeps<S extends ServiceName>(service: S, databaseUrl: string, env: Record<string, string> = {}): ServiceDeps<S> {
  // A gateway meters usage only where a test asks for it (startTestPlatform does when billing runs): elsewhere
  // it would report to whatever listens on billing's default port, and spool under the checkout's .data.
  const metering = service === 'gateway' ? { USAGE_METERING: 'off' } : {};
  // Spare tenant databases are made in the background; only the suites about them ask for some.
  const spares = service === 'admin' ? { PROVISIONING_SPARES: '0' } : {};
  const config = loadConfig(service, { NODE_ENV: 'test', DATABASE_URL: databaseUrl, ...metering, ...spares, ...env });
  return createServiceDeps(config, createLogger(service, { silent: true }));
}
