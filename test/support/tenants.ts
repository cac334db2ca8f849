import pg from 'pg';
import { testServerUrl } from './database';

/** Drops the databases and login roles that provisioning made for the tenants in a master database. */
export async function dropProvisionedTenants(masterUrl: string, serverUrl: string = testServerUrl()): Promise<void> {
  const master = new pg.Client({ connectionString: masterUrl });
  await master.connect();
  let rows: Array<{ db_name: string | null; db_role: string | null }>;
  try {
    rows = (await master.query('SELECT db_name, db_role FROM tenants')).rows;
  } finally {
    await master.end();
  }
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const row of rows) {
      if (row.db_name) await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(row.db_name)} WITH (FORCE)`);
      if (row.db_role) await admin.query(`DROP ROLE IF EXISTS ${admin.escapeIdentifier(row.db_role)}`);
    }
  } finally {
    await admin.end();
  }
}

/** Connects as a tenant's own login role (the password comes from the caller). */
export async function connectAs(database: string, role: string, password: string): Promise<pg.Client> {
  const url = new URL(testServerUrl(database));
  const client = new pg.Client({ host: url.hostname, port: Number(url.port || 5432), database, user: role, password });
  await client.connect();
  return client;
}
