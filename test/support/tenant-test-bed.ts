import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, testServerUrl, type TestDatabase } from './database';
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
