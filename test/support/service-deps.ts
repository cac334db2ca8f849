import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  // Audit checkpoints go to a file of the test's own, written when a test asks, not on a timer; the
  // admin's scheduled jobs (the tenant purge) and the service registry's polls run where a test calls them.
  const admin =
    service === 'admin'
      ? {
          PROVISIONING_SPARES: '0',
          AUDIT_CHECKPOINT_FILE: join(tmpdir(), `codex-audit-checkpoints-${randomUUID()}.jsonl`),
          AUDIT_CHECKPOINT_INTERVAL_MS: '0',
          ADMIN_JOBS: 'off',
          SERVICE_POLL_MS: '0',
        }
      : {};
  // Two suites share one server (100 connections on CI's machine PostgreSQL): idle tenant connections go
  // back to it after 2 s, not the production 30 s.
  const idle = { TENANT_POOL_IDLE_MS: '2000' };
  const config = loadConfig(service, { NODE_ENV: 'test', DATABASE_URL: databaseUrl, ...metering, ...admin, ...idle, ...env });
  return createServiceDeps(config, createLogger(service, { silent: true }));
}
