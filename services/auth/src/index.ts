/** What other parts of the repository (scripts, benchmarks, tests) may use of the auth service. */
export { createApp } from './app';
export { KeyRing } from './domain/key-ring';
export { oneTimePassword, operatorAdmins } from './domain/operator-admins';
