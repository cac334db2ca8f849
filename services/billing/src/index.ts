/** What other parts of the repository (scripts, benchmarks, tests) may use of the billing service. */
export { createApp } from './app';
export { closePeriods } from './domain/invoicing';
export { maintainPartitions } from './domain/metering';
