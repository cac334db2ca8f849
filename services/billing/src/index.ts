/** What other parts of the repository (scripts, benchmarks, tests) may use of the billing service. */
export { createApp } from './app';
