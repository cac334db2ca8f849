import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { closePeriods } from './domain/invoicing';
import { maintainPartitions } from './domain/metering';
import { reconcilePayments } from './domain/payments';
import { BillingJobs } from './jobs';
import { invoiceRoutes } from './routes/invoice-routes';
import { paymentDeps, paymentRoutes, stripeWebhookRoute } from './routes/payment-routes';
import { usageRoutes } from './routes/usage-routes';

/** The billing service: usage metering, the platform's invoices and their payments. */
export function createApp(deps: ServiceDeps<'billing'>): Express {
  const { config } = deps;
  const payments = paymentDeps(deps);
  if (config.billing.jobs) {
    const jobs = new BillingJobs(
      config.databaseUrl,
      [
        { name: 'usage-partitions', cron: '17 * * * *', run: () => maintainPartitions(deps.db, config.billing.usageRetentionMonths) },
        { name: 'period-close', cron: '*/5 * * * *', run: () => closePeriods(deps.db) },
        { name: 'payment-reconcile', cron: '* * * * *', run: () => reconcilePayments(payments, config.billing.reconcileAfterSeconds) },
      ],
      deps.logger,
    );
    jobs.start();
    deps.onClose.push(() => jobs.stop());
  }
  return createStandardServiceApp(
    'billing',
    deps,
    (app, openapi) => {
      const usage = usageRoutes(deps, openapi);
      app.use('/internal', usage.internal);
      app.use('/api/v1/billing', usage.api, invoiceRoutes(deps, openapi), paymentRoutes(deps, openapi, payments));
    },
    (app, openapi) => {
      app.use('/api/v1/billing', stripeWebhookRoute(deps, openapi, payments));
    },
  );
}
