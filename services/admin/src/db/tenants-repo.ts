import { pageTotal, type Queryable } from '@codex/shared';

import type { TenantStatus } from '../domain/tenant-input';

export type { TenantStatus };

export type SuspensionReason = 'admin' | 'unpaid';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  status: TenantStatus;
  /** Why a suspended tenant is suspended: an admin's decision, or an unpaid invoice (lifted by paying it). */
  suspendedFor: SuspensionReason | null;
  plan: string;
  dbServer: string;
  dbName: string | null;
  dbRole: string | null;
  /** Set while it is `deleting`: when it was deleted, and when the purge may drop its database. */
  deletedAt: Date | null;
  purgeAfter: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A tenant with its sealed database password (never leaves the service). */
export interface TenantWithSecret extends Tenant {
  dbSecret: string | null;
}

interface TenantRow {
  id: string;
  slug: string;
  name: string;
  status: TenantStatus;
  suspended_for: SuspensionReason | null;
  plan: string;
  db_server: string;
  db_name: string | null;
  db_role: string | null;
  db_secret: string | null;
  deleted_at: Date | null;
  purge_after: Date | null;
  created_at: Date;
  updated_at: Date;
}

// tenants.plan is the plan asked for at creation; the plan in force is the subscription service's tenant_plans.
const COLUMNS = `id, slug, name, status, suspended_for, coalesce((SELECT tp.plan_code FROM tenant_plans tp WHERE tp.tenant_id = tenants.id), plan) AS plan, db_server, db_name, db_role, db_secret, deleted_at, purge_after, created_at, updated_at`;

function toTenant(row: TenantRow): TenantWithSecret {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    status: row.status,
    suspendedFor: row.status === 'suspended' ? row.suspended_for : null,
    plan: row.plan,
    dbServer: row.db_server,
    dbName: row.db_name,
    dbRole: row.db_role,
    dbSecret: row.db_secret,
    deletedAt: row.deleted_at,
    purgeAfter: row.purge_after,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The public view: no placement secrets. */
export function publicTenant(tenant: TenantWithSecret): Tenant {
  const { dbSecret: _secret, ...rest } = tenant;
  return rest;
}

export async function insertProvisioningTenant(
  db: Queryable,
  input: {
    id: string;
    slug: string;
    name: string;
    plan: string;
    signup?: 'open' | 'invite';
    dbServer: string;
    dbName: string;
    dbRole: string;
    dbSecret: string;
  },
): Promise<TenantWithSecret | undefined> {
  const { rows } = await db.query<TenantRow>(
    `INSERT INTO tenants (id, slug, name, plan, status, db_server, db_name, db_role, db_secret, settings)
     VALUES ($1, $2, $3, $4, 'provisioning', $9, $5, $6, $7, CASE WHEN $8::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('signup', $8::text) END)
     ON CONFLICT (slug) DO NOTHING
     RETURNING ${COLUMNS}`,
    [input.id, input.slug, input.name, input.plan, input.dbName, input.dbRole, input.dbSecret, input.signup ?? null, input.dbServer],
  );
  return rows[0] && toTenant(rows[0]);
}

export async function findTenantBySlug(db: Queryable, slug: string): Promise<TenantWithSecret | undefined> {
  const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM tenants WHERE slug = $1`, [slug]);
  return rows[0] && toTenant(rows[0]);
}

export async function findTenantById(db: Queryable, id: string): Promise<TenantWithSecret | undefined> {
  const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM tenants WHERE id = $1`, [id]);
  return rows[0] && toTenant(rows[0]);
}

export async function setTenantStatus(db: Queryable, id: string, status: TenantStatus): Promise<void> {
  await db.query('UPDATE tenants SET status = $2 WHERE id = $1', [id, status]);
}

export async function listTenants(
  db: Queryable,
  filter: { status?: TenantStatus; q?: string; limit: number; offset: number },
): Promise<{ items: TenantWithSecret[]; total: number }> {
  // The search is a substring of slug or name, with LIKE's own wildcards taken literally.
  const pattern = filter.q === undefined ? null : `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const values = [filter.status ?? null, pattern];
  const where = `($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR slug ILIKE $2 OR name ILIKE $2)`;
  const { rows } = await db.query<TenantRow & { total_count: string }>(
    `SELECT ${COLUMNS}, count(*) OVER () AS total_count FROM tenants
      WHERE ${where}
      ORDER BY created_at DESC, id DESC
      LIMIT $3 OFFSET $4`,
    [...values, filter.limit, filter.offset],
  );
  const total = await pageTotal(db, rows, filter.offset, `SELECT count(*) AS total_count FROM tenants WHERE ${where}`, values);
  return { items: rows.map(toTenant), total };
}

/** Applies an admin's changes; only active and suspended tenants move between those two states. */
export async function updateTenant(
  db: Queryable,
  id: string,
  changes: { name?: string; status?: 'active' | 'suspended'; settings?: Record<string, unknown> },
): Promise<TenantWithSecret | undefined> {
  const { rows } = await db.query<TenantRow>(
    `UPDATE tenants SET name = COALESCE($2, name),
            status = CASE WHEN $3::text IS NOT NULL AND status IN ('active', 'suspended') THEN $3 ELSE status END,
            suspended_for = CASE WHEN $3::text IS NOT NULL AND status IN ('active', 'suspended')
                                 THEN CASE $3::text WHEN 'suspended' THEN 'admin' END ELSE suspended_for END,
            settings = settings || COALESCE($4::jsonb, '{}'::jsonb)
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.name ?? null, changes.status ?? null, changes.settings ? JSON.stringify(changes.settings) : null],
  );
  return rows[0] && toTenant(rows[0]);
}

/** Tenants with a database, role and sealed password (not deleted): what must exist on a server for them to work. */
export async function tenantsWithDatabases(db: Queryable): Promise<TenantWithSecret[]> {
  const { rows } = await db.query<TenantRow>(
    `SELECT ${COLUMNS} FROM tenants WHERE db_name IS NOT NULL AND db_role IS NOT NULL AND db_secret IS NOT NULL AND status <> 'deleted' ORDER BY created_at, id`,
  );
  return rows.map(toTenant);
}

/**
 * Suspends an active tenant for an unpaid invoice, or reactivates one
 * suspended for that reason only (an admin's suspension stays). Undefined
 * when the tenant was not in the state to move from: nothing changed.
 */
export async function setUnpaidHold(db: Queryable, id: string, hold: boolean): Promise<TenantWithSecret | undefined> {
  const { rows } = await db.query<TenantRow>(
    hold
      ? `UPDATE tenants SET status = 'suspended', suspended_for = 'unpaid' WHERE id = $1 AND status = 'active' RETURNING ${COLUMNS}`
      : `UPDATE tenants SET status = 'active', suspended_for = NULL WHERE id = $1 AND status = 'suspended' AND suspended_for = 'unpaid' RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0] && toTenant(rows[0]);
}

/** Locks the tenant's row for a lifecycle change. */
export async function findTenantForUpdate(db: Queryable, id: string): Promise<TenantWithSecret | undefined> {
  const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM tenants WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] && toTenant(rows[0]);
}

/** Soft delete: out of reach at once, restorable until `purgeAfter`. */
export async function markTenantDeleting(db: Queryable, id: string, purgeAfter: Date): Promise<TenantWithSecret> {
  const { rows } = await db.query<TenantRow>(
    `UPDATE tenants SET status_before_delete = status, status = 'deleting', deleted_at = now(), purge_after = $2
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, purgeAfter],
  );
  return toTenant(rows[0]!);
}

/** Undoes a soft delete: the status it had before (a suspension keeps its reason). */
export async function restoreDeletedTenant(db: Queryable, id: string): Promise<TenantWithSecret> {
  const { rows } = await db.query<TenantRow>(
    `UPDATE tenants SET status = coalesce(status_before_delete, 'active'), status_before_delete = NULL, deleted_at = NULL, purge_after = NULL
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return toTenant(rows[0]!);
}

/** The tenant whose grace ran out longest ago, locked; other instances purging at the same time skip it. */
export async function lockTenantDueForPurge(db: Queryable): Promise<TenantWithSecret | undefined> {
  const { rows } = await db.query<TenantRow>(
    `SELECT ${COLUMNS} FROM tenants WHERE status = 'deleting' AND purge_after <= now() ORDER BY purge_after LIMIT 1 FOR UPDATE SKIP LOCKED`,
  );
  return rows[0] && toTenant(rows[0]);
}

/** After its database and role are dropped: `deleted`, with no password kept. */
export async function markTenantPurged(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE tenants SET status = 'deleted', db_secret = NULL, purge_after = NULL WHERE id = $1`, [id]);
}

/** Places the tenant on another database server (a move's switch). */
export async function moveTenantPlacement(db: Queryable, id: string, server: string): Promise<TenantWithSecret> {
  const { rows } = await db.query<TenantRow>(`UPDATE tenants SET db_server = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id, server]);
  return toTenant(rows[0]!);
}

/** Serving tenants (active or suspended) whose database has one of these names, with where it lives. */
export async function tenantsOnServer(
  db: Queryable,
  databaseNames: string[],
): Promise<Array<{ id: string; dbServer: string; dbName: string; dbRole: string }>> {
  const { rows } = await db.query<{ id: string; db_server: string; db_name: string; db_role: string }>(
    `SELECT id, db_server, db_name, db_role FROM tenants WHERE db_name = ANY($1::text[]) AND status IN ('active', 'suspended') AND db_role IS NOT NULL`,
    [databaseNames],
  );
  return rows.map((row) => ({ id: row.id, dbServer: row.db_server, dbName: row.db_name, dbRole: row.db_role }));
}
