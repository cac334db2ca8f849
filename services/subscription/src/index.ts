/** What other parts of the repository (scripts, benchmarks, tests) may use of the subscription service. */
export { createApp } from './app';
