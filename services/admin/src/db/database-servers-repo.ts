import type { Queryable } from '@codex/shared';

export type DatabaseServerStatus = 'active' | 'draining' | 'down';

export interface RegisteredServer {
  name: string;
  urlSealed: string;
  capacity: number;
  status: DatabaseServerStatus;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  name: string;
  url_sealed: string;
  capacity: number;
  status: DatabaseServerStatus;
  created_at: Date;
  updated_at: Date;
}

const toServer = (row: Row): RegisteredServer => ({
  name: row.name,
  urlSealed: row.url_sealed,
  capacity: row.capacity,
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export async function listRegisteredServers(db: Queryable): Promise<RegisteredServer[]> {
  const { rows } = await db.query<Row>('SELECT name, url_sealed, capacity, status, created_at, updated_at FROM database_servers ORDER BY name');
  return rows.map(toServer);
}

export async function findRegisteredServer(db: Queryable, name: string): Promise<RegisteredServer | undefined> {
  const { rows } = await db.query<Row>('SELECT name, url_sealed, capacity, status, created_at, updated_at FROM database_servers WHERE name = $1', [name]);
  return rows[0] && toServer(rows[0]);
}

export async function insertRegisteredServer(
  db: Queryable,
  server: { name: string; urlSealed: string; capacity: number },
): Promise<RegisteredServer | undefined> {
  const { rows } = await db.query<Row>(
    `INSERT INTO database_servers (name, url_sealed, capacity) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO NOTHING RETURNING name, url_sealed, capacity, status, created_at, updated_at`,
    [server.name, server.urlSealed, server.capacity],
  );
  return rows[0] && toServer(rows[0]);
}

export async function updateRegisteredServer(
  db: Queryable,
  name: string,
  changes: { capacity?: number; status?: DatabaseServerStatus },
): Promise<RegisteredServer | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE database_servers SET capacity = coalesce($2, capacity), status = coalesce($3, status), updated_at = now()
      WHERE name = $1 RETURNING name, url_sealed, capacity, status, created_at, updated_at`,
    [name, changes.capacity ?? null, changes.status ?? null],
  );
  return rows[0] && toServer(rows[0]);
}

/** Tenants that hold a database (or are getting one) per server. */
export async function tenantsPerServer(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ db_server: string; tenants: number }>(
    `SELECT db_server, count(*)::int AS tenants FROM tenants WHERE status NOT IN ('deleted', 'failed') GROUP BY db_server`,
  );
  return new Map(rows.map((row) => [row.db_server, row.tenants]));
}
