import path from 'node:path';
import type { Logger } from '../logger';
import { migrate, type MigrateResult } from './migrate';
import { createPool, withDatabase, assertSafeIdentifier } from './pool';

/** The repository's migration folders (the same from src/ and dist/). */
export const MIGRATION_DIRS = {
  master: path.resolve(__dirname, '..', '..', '..', 'migrations', 'master'),
  tenant: path.resolve(__dirname, '..', '..', '..', 'migrations', 'tenant'),
} as const;

export interface PlatformMigrationResult {
  master: MigrateResult;
  tenants: Record<string, MigrateResult>;
}

/** Applies pending migrations to one tenant database. */
export function migrateTenantDatabase(connectionString: string, logger?: Logger): Promise<MigrateResult> {
  return migrate({ connectionString, directory: MIGRATION_DIRS.tenant, logger });
}

/**
 * `npm run migrate`: the master database first, then every tenant database
 * whose provisioning got as far as creating it.
 */
export async function migratePlatform(masterUrl: string, logger?: Logger): Promise<PlatformMigrationResult> {
  const master = await migrate({ connectionString: masterUrl, directory: MIGRATION_DIRS.master, logger });
  const pool = createPool(masterUrl, { max: 1, logger });
  const tenants: Record<string, MigrateResult> = {};
  try {
    const { rows } = await pool.query<{ slug: string; db_name: string }>(
      `SELECT slug, db_name FROM tenants WHERE db_name IS NOT NULL AND status IN ('active', 'suspended') ORDER BY created_at`,
    );
    for (const row of rows) {
      tenants[row.slug] = await migrateTenantDatabase(withDatabase(masterUrl, assertSafeIdentifier(row.db_name)), logger);
    }
  } finally {
    await pool.end();
  }
  return { master, tenants };
}
