/** What other parts of the repository (scripts, benchmarks, tests) may use of the crm service. */
export { createApp } from './app';
