import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { closeServiceDeps, type ServiceDeps, type ServiceName } from '@codex/shared';
import { createTestDatabase, testServerUrl, type TestDatabase } from './database';
import { provisionTestTenant } from './provisioning';
import { createTestDeps } from './service-deps';
import { dropProvisionedTenants } from './tenants';
import { testEnv } from './test-env';

export interface TenantTestBed {
  /** The master database of this test file. */
  db: TestDatabase;
  /** A tenant template of its own, so provisioning here does not wait on other files. */
  template: string;
  /** Drops every tenant database and role provisioned here, the template and the master database. */
  drop(): Promise<void>;
}

/** A master database plus its own tenant template, for tests that provision real tenants. */
export async function createTenantTestBed(): Promise<TenantTestBed> {
  const db = await createTestDatabase('master');
  const template = `cm_tpl_${testEnv('runId')}_${randomBytes(4).toString('hex')}`;
  return {
    db,
    template,
    async drop() {
      await dropProvisionedTenants(db.url);
      const admin = new pg.Client({ connectionString: testServerUrl() });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      await db.drop();
    },
  };
}

export interface ServiceTestBed<App, S extends ServiceName = ServiceName> {
  bed: TenantTestBed;
  deps: ServiceDeps<S>;
  app: App;
  /** Ids of the tenants provisioned for the test, in order. */
  tenants: string[];
  close(): Promise<void>;
}

/** A service app on its own master database with `tenantCount` real tenants provisioned. */
export async function createServiceTestBed<App, S extends ServiceName>(
  service: S,
  createApp: (deps: ServiceDeps<S>) => App,
  tenantCount: number,
  env: Record<string, string> = {},
): Promise<ServiceTestBed<App, S>> {
  const bed = await createTenantTestBed();
  const deps = createTestDeps(service, bed.db.url, env);
  const app = createApp(deps);
  const tenants: string[] = [];
  for (let i = 0; i < tenantCount; i += 1) tenants.push((await provisionTestTenant(deps, bed.template)).tenant.id);
  return {
    bed,
    deps,
    app,
    tenants,
    async close() {
      await closeServiceDeps(deps);
      await bed.drop();
    },
  };
}
