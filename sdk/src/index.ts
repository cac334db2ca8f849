export { createCodexClient, type CodexClient, type CodexClientOptions, type Entitlements, type FlagValues, type Schemas } from './client.js';
export { CodexApiError, CodexNetworkError, isCodexApiError, type ErrorBody, type FieldProblem } from './errors.js';
export type { components, operations, paths } from './generated/schema.js';
export { DEFAULT_RETRY, type RetryPolicy, type Session } from './transport.js';
