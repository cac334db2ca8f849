import { createLogger, createServiceDeps, loadConfig, type ServiceDeps, type ServiceName } from '@codex/shared';

/**
 * Real dependencies for a service under test, on the given master database;
 * extra environment entries override the defaults (ports, URLs, limits).
 */
export function createTestDeps<S extends ServiceName>(service: S, databaseUrl: string, env: Record<string, string> = {}): ServiceDeps<S> {
  const config = loadConfig(service, { NODE_ENV: 'test', DATABASE_URL: databaseUrl, ...env });
  return createServiceDeps(config, createLogger(service, { silent: true }));
}
