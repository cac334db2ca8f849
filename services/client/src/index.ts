/** What other parts of the repository (scripts, benchmarks, tests) may use of the client service. */
export { createApp } from './app';
export { buildClientListQuery, type ClientQuery } from './db/clients-repo';
