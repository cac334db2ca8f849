import { variablesOf, ConfigError, loadConfig, loadLauncherConfig } from '../src/config';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/codex';

describe('loadConfig', () => {
  it('when only DATABASE_URL is set, then defaults give each service its port and every peer URL', () => {
    const config = loadConfig('crm', { DATABASE_URL });
    expect(config.port).toBe(3004);
    expect(config.serviceUrls.auth).toBe('http://127.0.0.1:3001');
    expect(config.bodyLimit).toBe('1mb');
    expect(config.upstreamTimeoutMs).toBe(30_000);
  });

  it('when a port is overridden, then the service and its peers use it', () => {
    const config = loadConfig('crm', { DATABASE_URL, CRM_PORT: '4004', AUTH_URL: 'http://auth.internal:8080/' });
    expect(config.port).toBe(4004);
    expect(config.serviceUrls.crm).toBe('http://127.0.0.1:4004');
    expect(config.serviceUrls.auth).toBe('http://auth.internal:8080');
  });

  it('when DATABASE_URL is missing, then the error names it', () => {
    expect(() => loadConfig('crm', {})).toThrow(ConfigError);
    expect(() => loadConfig('crm', {})).toThrow(/DATABASE_URL/);
  });

  it('when a port is not a number, then the error names the variable', () => {
    expect(() => loadConfig('gateway', { DATABASE_URL, GATEWAY_PORT: 'eighty' })).toThrow(/GATEWAY_PORT/);
  });

  it('when dunning retry days are not increasing, then the error names the variable; increasing days are read as numbers', () => {
    for (const days of ['3,1', '1,1,3', 'one']) expect(() => loadConfig('billing', { DATABASE_URL, DUNNING_RETRY_DAYS: days })).toThrow(/DUNNING_RETRY_DAYS/);
    expect(loadConfig('billing', { DATABASE_URL, DUNNING_RETRY_DAYS: '0,2,5' }).billing.dunningRetryDays).toEqual([0, 2, 5]);
  });

  it('when the database URL is not postgres, then it is refused', () => {
    expect(() => loadConfig('crm', { DATABASE_URL: 'mysql://x@y/z' })).toThrow(/DATABASE_URL/);
  });

  it('when production runs without SERVICE_JWT_SECRET, then it refuses to start', () => {
    expect(() => loadConfig('auth', { DATABASE_URL, NODE_ENV: 'production' })).toThrow(/SERVICE_JWT_SECRET, SECRETS_KEYS required in production/);
  });

  it('when the secret is too short, then it is refused in any environment', () => {
    expect(() => loadConfig('auth', { DATABASE_URL, SERVICE_JWT_SECRET: 'short' })).toThrow(/SERVICE_JWT_SECRET/);
  });

  it('when CORS_ORIGINS lists origins, then they are split and trimmed', () => {
    const config = loadConfig('gateway', { DATABASE_URL, CORS_ORIGINS: 'https://a.example, https://b.example' });
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });
});

describe('loadLauncherConfig', () => {
  it('when nothing is set, then it uses the embedded database under .data', () => {
    const config = loadLauncherConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe('.data');
  });

  it('when ADMIN_PASSWORD is too short, then the error names it', () => {
    expect(() => loadLauncherConfig({ ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
  });
});

describe('empty variables', () => {
  it('when a variable is set but empty, then it counts as unset', () => {
    expect(loadLauncherConfig({ ADMIN_PASSWORD: '' }).adminPassword).toBeUndefined();
    expect(loadConfig('crm', { DATABASE_URL, CRM_PORT: '' }).port).toBe(3004);
  });
});

describe('per-service settings', () => {
  it('when a variable belongs to another service, then this service neither reads nor checks it', () => {
    expect(() => loadConfig('crm', { DATABASE_URL, BCRYPT_COST: '99', RATE_LIMIT_PER_KEY: 'lots' })).not.toThrow();
    expect(() => loadConfig('auth', { DATABASE_URL, BCRYPT_COST: '99' })).toThrow(/BCRYPT_COST/);
    expect(() => loadConfig('gateway', { DATABASE_URL, RATE_LIMIT_PER_KEY: 'lots' })).toThrow(/RATE_LIMIT_PER_KEY/);
  });

  it('when each service is configured, then it gets exactly its own section', () => {
    expect(loadConfig('auth', { DATABASE_URL, BCRYPT_COST: '11' }).auth.bcryptCost).toBe(11);
    expect(loadConfig('gateway', { DATABASE_URL }).gateway.apiKeyCacheMs).toBe(30_000);
    expect(loadConfig('crm', { DATABASE_URL, IMPORT_WAIT_MS: '500' }).imports.waitMs).toBe(500);
    expect(loadConfig('admin', { DATABASE_URL }).provisioning.templateDatabase).toBe('codex_tenant_template');
    expect(loadConfig('billing', { DATABASE_URL })).not.toHaveProperty('auth');
    expect(variablesOf('client')).toContain('IMPORT_MAX_BYTES');
    expect(variablesOf('client')).not.toContain('BCRYPT_COST');
  });
});
