import { createStandardServiceApp, ScheduledJobs, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';
import { runClientBilling } from './domain/client-billing';
import { runDunning, syncTenantDunning, type DunningDeps } from './domain/dunning';
import { closePeriods } from './domain/invoicing';
import { maintainPartitions } from './domain/metering';
import { reconcilePayments, type PaymentDeps } from './domain/payments';
import { clientBillingDeps, clientBillingRoutes } from './routes/client-billing-routes';
import { dunningRoutes } from './routes/dunning-routes';
import { invoiceRoutes } from './routes/invoice-routes';
import { paymentDeps, paymentRoutes, stripeWebhookRoute } from './routes/payment-routes';
import { usageRoutes } from './routes/usage-routes';

/** The billing service: usage metering, the platform's invoices and their payments, and each tenant's invoices to its own clients. */
export function createApp(deps: ServiceDeps<'billing'>): Express {
  const { config } = deps;
  // A paid or closed invoice may end a tenant's dunning at once rather than at the job's next run; if
  // that fails, the job's next run does it.
  const reviewDunning = async (tenantId: string) => {
    await syncTenantDunning(dunning, tenantId).catch((err: unknown) => deps.logger.warn('could not review dunning now; the job will', { err, tenantId }));
  };
  const payments = paymentDeps(deps, reviewDunning);
  const dunning = dunningDeps(deps, payments);
  const clientBilling = clientBillingDeps(deps);
  if (config.billing.jobs) {
    const jobs = new ScheduledJobs(
      config.databaseUrl,
      [
        { name: 'usage-partitions', cron: '17 * * * *', run: () => maintainPartitions(deps.db, config.billing.usageRetentionMonths) },
        { name: 'period-close', cron: '*/5 * * * *', run: () => closePeriods(deps.db) },
        { name: 'payment-reconcile', cron: '* * * * *', run: () => reconcilePayments(payments, config.billing.reconcileAfterSeconds) },
        { name: 'dunning', cron: '41 * * * *', run: () => runDunning(dunning) },
        {
          name: 'client-billing',
          cron: '*/5 * * * *',
          run: () => runClientBilling({ ...clientBilling, db: deps.db, reconcileAfterSeconds: config.billing.reconcileAfterSeconds }),
        },
      ],
      deps.logger,
      'codex-billing-jobs',
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
      app.use(
        '/api/v1/billing',
        usage.api,
        invoiceRoutes(deps, openapi, reviewDunning),
        paymentRoutes(deps, openapi, payments),
        dunningRoutes(deps, openapi, dunning),
        clientBillingRoutes(deps, openapi, clientBilling),
      );
    },
    (app, openapi) => {
      app.use('/api/v1/billing', stripeWebhookRoute(deps, openapi, payments));
    },
  );
}

/** Dunning's settings and collaborators, from the service's. */
export function dunningDeps(deps: ServiceDeps<'billing'>, payments: PaymentDeps): DunningDeps {
  return {
    db: deps.db,
    logger: deps.logger,
    payments,
    admin: deps.clients.get('admin'),
    retryDays: deps.config.billing.dunningRetryDays,
    graceDays: deps.config.billing.dunningGraceDays,
  };
}
