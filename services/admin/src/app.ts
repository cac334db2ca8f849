import { createStandardServiceApp, ScheduledJobs, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { closeServerAdmins } from './db/tenant-databases';
import { AlertWebhook } from './domain/alerts';
import { AuditCheckpoints } from './domain/audit-log';
import { probeDatabaseServer, watchedDatabaseServers } from './domain/database-servers';
import { ServiceRegistry } from './domain/service-registry';
import { SpareDatabases } from './domain/spare-databases';
import { recoverInterruptedWork } from './domain/interrupted-work';
import { pruneOldTraffic } from './domain/traffic';
import { provisioningDepsOf } from './domain/provisioning';
import { purgeDeletedTenants, type LifecycleDeps } from './domain/tenant-lifecycle';
import { adminRoutes } from './routes/admins';
import { auditLogRoutes } from './routes/audit-log';
import { configRoutes } from './routes/config';
import { databaseServerRoutes } from './routes/database-servers';
import { internalRoutes } from './routes/internal-routes';
import { serviceRoutes } from './routes/services';
import { tenantRoutes } from './routes/tenants';

/** The admin service: tenants, platform admins, system configuration and audit log. */
export function createApp(deps: ServiceDeps<'admin'>): Express {
  const spares = new SpareDatabases({
    serverUrl: deps.config.databaseUrl,
    templateDatabase: deps.config.provisioning.templateDatabase,
    count: deps.config.provisioning.spares,
    logger: deps.logger,
  });
  spares.refill();
  const checkpoints = new AuditCheckpoints(deps.config.audit.checkpointFile, deps.config.secretKeys, deps.logger);
  checkpoints.start(deps.db, deps.config.audit.checkpointIntervalMs);
  deps.onClose.push(
    () => spares.close(),
    closeServerAdmins,
    async () => checkpoints.stop(),
  );
  const lifecycle: LifecycleDeps = {
    db: deps.db,
    tenants: deps.tenants,
    serverUrl: deps.config.databaseUrl,
    secrets: deps.secrets,
    defaultGraceMs: deps.config.lifecycle.deleteGraceMs,
    settings: deps.platformConfig,
    logger: deps.logger,
  };
  const provisioning = provisioningDepsOf(deps, spares);
  if (deps.config.lifecycle.jobs) {
    const jobs = new ScheduledJobs(
      deps.config.databaseUrl,
      [
        { name: 'tenant-purge', cron: '*/5 * * * *', run: () => purgeDeletedTenants(lifecycle) },
        { name: 'tenant-recovery', cron: '*/5 * * * *', run: () => recoverInterruptedWork(provisioning) },
        { name: 'traffic-retention', cron: '17 * * * *', run: async () => void (await pruneOldTraffic(deps.db)) },
      ],
      deps.logger,
      'codex-admin-jobs',
    );
    jobs.start();
    deps.onClose.push(() => jobs.stop());
    // A process that died mid-move may have left a tenant closed: not a minute longer than needed.
    void recoverInterruptedWork(provisioning).catch((err: unknown) => deps.logger.warn('recovering interrupted work failed', { err }));
  }
  const { registry: registrySettings } = deps.config;
  const registry = new ServiceRegistry({
    db: deps.db,
    serviceUrls: deps.config.serviceUrls,
    onBreakerChange: (listener) => deps.clients.onStateChange(listener),
    pollMs: registrySettings.pollMs,
    alerts: new AlertWebhook({ url: registrySettings.alertWebhookUrl, allowPrivate: registrySettings.alertWebhookAllowPrivate, logger: deps.logger }),
    logger: deps.logger,
    audit: deps.audit,
    databaseServers: () => watchedDatabaseServers({ db: deps.db, serverUrl: deps.config.databaseUrl, secrets: deps.secrets }),
    probeDatabase: probeDatabaseServer,
  });
  registry.start();
  deps.onClose.push(async () => registry.stop());
  return createStandardServiceApp('admin', deps, (app, openapi) => {
    app.use('/api/v1/admin', tenantRoutes(deps, openapi, lifecycle, provisioning));
    app.use('/api/v1/admin', auditLogRoutes(deps, openapi, checkpoints));
    app.use('/api/v1/admin', adminRoutes(deps, openapi));
    app.use('/api/v1/admin', serviceRoutes(deps, openapi));
    app.use('/api/v1/admin', configRoutes(deps, openapi));
    app.use('/api/v1/admin', databaseServerRoutes(deps, openapi));
    app.use('/internal', internalRoutes(deps, openapi));
  });
}
