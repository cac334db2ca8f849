import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { withDatabase } from '@codex/shared';
import { testEnv } from './test-env';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** The test server's URL pointing at `database` (default: the maintenance database). */
export function testServerUrl(database = 'postgres'): string {
  return withDatabase(testEnv('serverUrl'), database);
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: testServerUrl() });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * A fresh database of the caller's own, cloned from the migrated template
 * (`master` or `tenant`), or empty. Drop it in afterAll.
 */
/** Runs one statement as the superuser on the test server's maintenance database and answers its rows. */
export async function serverQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(kind: 'master' | 'tenant' | 'empty'): Promise<TestDatabase> {
  const name = `cm_${kind}_${testEnv('runId')}_${randomBytes(4).toString('hex')}`;
  const template = kind === 'master' ? testEnv('masterTemplate') : kind === 'tenant' ? testEnv('tenantTemplate') : 'template0';
  for (let attempt = 0; ; attempt += 1) {
    try {
      await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      break;
    } catch (err) {
      // Another worker is cloning the same template at this instant; try again shortly.
      if ((err as { code?: string }).code !== '55006' || attempt >= 20) throw err;
      await delay(100 + Math.random() * 200);
    }
  }
  return {
    name,
    url: testServerUrl(name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
