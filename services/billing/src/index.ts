/** What other parts of the repository (scripts, benchmarks, tests) may use of the billing service. */
export { createApp, dunningDeps } from './app';
export { runDunning } from './domain/dunning';
export { closePeriods } from './domain/invoicing';
export { maintainPartitions } from './domain/metering';
export { paymentDeps } from './routes/payment-routes';
