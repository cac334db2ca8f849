import type pg from 'pg';
import { NotFoundError } from '../errors';
import type { Queryable } from './pool';
import { assertSafeIdentifier, withDatabase } from './pool';

interface TenantPlacementRow {
  db_name: string;
}

/**
 * Resolves a tenant id to the connection settings of its database, from the
 * master `tenants` row. Only tenants whose database is ready resolve.
 */
export function createTenantConnectionResolver(master: Queryable, serverUrl: string): (tenantId: string) => Promise<pg.PoolConfig> {
  return async (tenantId) => {
    const { rows } = await master.query<TenantPlacementRow>(
      `SELECT db_name FROM tenants WHERE id = $1 AND status IN ('active', 'suspended') AND db_name IS NOT NULL`,
      [tenantId],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError('Tenant not found', 'TENANT_NOT_FOUND');
    return { connectionString: withDatabase(serverUrl, assertSafeIdentifier(row.db_name)) };
  };
}
