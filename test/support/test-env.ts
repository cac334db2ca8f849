/** Values the global setup hands to every test worker through the environment. */
export const TEST_ENV = {
  serverUrl: 'CODEX_TEST_SERVER_URL',
  masterTemplate: 'CODEX_TEST_MASTER_TEMPLATE',
  tenantTemplate: 'CODEX_TEST_TENANT_TEMPLATE',
  runId: 'CODEX_TEST_RUN_ID',
} as const;

export function testEnv(name: keyof typeof TEST_ENV): string {
  const value = process.env[TEST_ENV[name]];
  if (!value) throw new Error(`${TEST_ENV[name]} is not set: run the tests through jest (global setup)`);
  return value;
}
