/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: [
    '<rootDir>/shared',
    '<rootDir>/gateway',
    '<rootDir>/services',
    '<rootDir>/scripts',
    '<rootDir>/test',
    '<rootDir>/admin-ui/test',
    '<rootDir>/sdk/test',
    '<rootDir>/templates/client-app/test',
  ],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    // @scure/base (otplib's Base32) ships ES modules only; Node runs it through require(esm), Jest's module system needs it compiled.
    '/node_modules/@scure/base/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@scure/base/)'],
  moduleNameMapper: {
    // The SDK is ESM with Node's explicit `.js` specifiers; under Jest its TypeScript sources are required directly.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^@codex/shared$': '<rootDir>/shared/src/index.ts',
    '^@codex/gateway$': '<rootDir>/gateway/src/index.ts',
    '^@codex/(admin|auth|billing|client|crm|subscription)$': '<rootDir>/services/$1/src/index.ts',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  // Two cores: two workers keep the machine busy without starving PostgreSQL.
  maxWorkers: 2,
};
