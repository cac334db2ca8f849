import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
// Global setup runs outside Jest's module mapping, so it imports the shared sources directly.
import { MIGRATION_DIRS, migrate, withDatabase } from '../../shared/src';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../scripts/lib/embedded-postgres';
import { TEST_ENV } from './test-env';

declare global {
  // eslint-disable-next-line no-var
  var __CODEX_EMBEDDED_PG__: EmbeddedPostgres | undefined;
}

const TEST_PG_PORT = 54329;

/**
 * Once per `npm test`: a PostgreSQL server (DATABASE_URL's, else an embedded
 * one), and master/tenant template databases migrated once, from which each
 * test file clones its own database.
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const embedded = await startEmbeddedPostgres({
      dataDir: path.resolve(__dirname, '..', '..', '.data', 'test'),
      port: TEST_PG_PORT,
      fast: true,
    });
    globalThis.__CODEX_EMBEDDED_PG__ = embedded;
    serverUrl = embedded.url;
  }
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const masterTemplate = `cm_tpl_master_${runId}`;
  const tenantTemplate = `cm_tpl_tenant_${runId}`;

  const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  try {
    for (const name of [masterTemplate, tenantTemplate]) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  await migrate({ connectionString: withDatabase(serverUrl, masterTemplate), directory: MIGRATION_DIRS.master });
  await migrate({ connectionString: withDatabase(serverUrl, tenantTemplate), directory: MIGRATION_DIRS.tenant });

  process.env[TEST_ENV.serverUrl] = serverUrl;
  process.env[TEST_ENV.masterTemplate] = masterTemplate;
  process.env[TEST_ENV.tenantTemplate] = tenantTemplate;
  process.env[TEST_ENV.runId] = runId;
}
