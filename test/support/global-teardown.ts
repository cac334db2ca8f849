import pg from 'pg';
import { withDatabase } from '../../shared/src';
import { TEST_ENV } from './test-env';

/** Drops every database this run made (templates, spares and any a failed test left), then stops the embedded server. */
export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env[TEST_ENV.serverUrl];
  const runId = process.env[TEST_ENV.runId];
  if (serverUrl && runId) {
    const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'cm\\_%' AND datname LIKE $1`, [
        `%${runId}%`,
      ]);
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(datname)} WITH (FORCE)`);
      // Spare tenant databases the platforms started by tests made ahead (each with a role of the same name).
      const spares = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'tenant\\_spare\\_%'`);
      for (const { datname } of spares.rows) await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(datname)} WITH (FORCE)`);
      const roles = await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'tenant\\_spare\\_%'`);
      for (const { rolname } of roles.rows) await admin.query(`DROP ROLE IF EXISTS ${admin.escapeIdentifier(rolname)}`);
    } finally {
      await admin.end();
    }
  }
  await globalThis.__CODEX_EMBEDDED_PG__?.stop();
}
