import type pg from 'pg';
import type { SecretBox } from '../crypto/secret-box';
import { ErrorCode, NotFoundError } from '../errors';
import type { Queryable } from './pool';
import { assertSafeIdentifier } from './pool';

interface TenantPlacementRow {
  db_server: string;
  db_name: string;
  db_role: string;
  db_secret: string;
}

/**
 * Resolves a tenant id to the connection settings of its database: its own
 * login role (which can connect to nothing else) and that role's password,
 * decrypted. Only tenants whose database is ready resolve.
 */
export function createTenantConnectionResolver(
  master: Queryable,
  servers: Record<string, string>,
  secrets: SecretBox,
): (tenantId: string) => Promise<pg.PoolConfig> {
  return async (tenantId) => {
    const { rows } = await master.query<TenantPlacementRow>(
      `SELECT db_server, db_name, db_role, db_secret FROM tenants
        WHERE id = $1 AND status IN ('active', 'suspended') AND db_name IS NOT NULL AND db_secret IS NOT NULL`,
      [tenantId],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
    const url = new URL(await databaseServerUrl(master, servers, secrets, row.db_server));
    return {
      host: url.hostname,
      port: url.port ? Number(url.port) : 5432,
      database: assertSafeIdentifier(row.db_name),
      user: assertSafeIdentifier(row.db_role),
      password: secrets.open(row.db_secret),
      application_name: `tenant:${tenantId}`,
    };
  };
}

/**
 * A database server's superuser URL by name: one of the configured ones (`default`, DATABASE_URL's
 * server), else a registered one (`database_servers`, its URL sealed).
 */
export async function databaseServerUrl(master: Queryable, configured: Record<string, string>, secrets: SecretBox, name: string): Promise<string> {
  const known = configured[name];
  if (known) return known;
  const { rows } = await master.query<{ url_sealed: string }>('SELECT url_sealed FROM database_servers WHERE name = $1', [name]);
  if (!rows[0]) throw new Error(`unknown database server ${name}`);
  return secrets.open(rows[0].url_sealed);
}

/**
 * The tenants whose API keys were used most recently, newest first, as far
 * back as `limit` tenants: the ones worth a warm pool after a restart.
 */
export async function recentlyActiveTenants(master: Queryable, limit: number): Promise<string[]> {
  const { rows } = await master.query<{ id: string }>(
    `SELECT t.id FROM tenants t JOIN api_keys k ON k.tenant_id = t.id
      WHERE t.status = 'active' AND t.db_name IS NOT NULL AND k.last_used_at IS NOT NULL
      GROUP BY t.id ORDER BY max(k.last_used_at) DESC LIMIT $1`,
    [limit],
  );
  return rows.map((row) => row.id);
}
