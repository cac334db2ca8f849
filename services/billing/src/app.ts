import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { closePeriods } from './domain/invoicing';
import { maintainPartitions } from './domain/metering';
import { BillingJobs } from './jobs';
import { invoiceRoutes } from './routes/invoice-routes';
import { usageRoutes } from './routes/usage-routes';

/** The billing service: usage metering, invoices and payments. */
export function createApp(deps: ServiceDeps<'billing'>): Express {
  const { config } = deps;
  if (config.billing.jobs) {
    const jobs = new BillingJobs(
      config.databaseUrl,
      [
        { name: 'usage-partitions', cron: '17 * * * *', run: () => maintainPartitions(deps.db, config.billing.usageRetentionMonths) },
        { name: 'period-close', cron: '*/5 * * * *', run: () => closePeriods(deps.db) },
      ],
      deps.logger,
    );
    jobs.start();
    deps.onClose.push(() => jobs.stop());
  }
  return createStandardServiceApp('billing', deps, (app, openapi) => {
    const usage = usageRoutes(deps, openapi);
    app.use('/internal', usage.internal);
    app.use('/api/v1/billing', usage.api, invoiceRoutes(deps, openapi));
  });
}
