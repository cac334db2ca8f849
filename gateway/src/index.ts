/** What other parts of the repository (scripts, benchmarks, tests) may use of the gateway. */
export { createApp, type GatewayOptions } from './app';
export { combineDocuments } from './combined-openapi';
