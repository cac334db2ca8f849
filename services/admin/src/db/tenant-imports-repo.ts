import type { Queryable } from '@codex/shared';

export interface TenantImport {
  id: string;
  status: 'running' | 'completed' | 'failed';
  slug: string;
  name: string;
  sourceTenantId: string | null;
  tenantId: string | null;
  rowsTotal: number;
  rowsLoaded: number;
  failure: string | null;
  createdBy: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

interface Row {
  id: string;
  status: TenantImport['status'];
  slug: string;
  name: string;
  source_tenant_id: string | null;
  tenant_id: string | null;
  rows_total: string;
  rows_loaded: string;
  failure: string | null;
  created_by: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const COLUMNS = 'id, status, slug, name, source_tenant_id, tenant_id, rows_total, rows_loaded, failure, created_by, created_at, finished_at';

const toImport = (row: Row): TenantImport => ({
  id: row.id,
  status: row.status,
  slug: row.slug,
  name: row.name,
  sourceTenantId: row.source_tenant_id,
  tenantId: row.tenant_id,
  rowsTotal: Number(row.rows_total),
  rowsLoaded: Number(row.rows_loaded),
  failure: row.failure,
  createdBy: row.created_by,
  createdAt: row.created_at,
  finishedAt: row.finished_at,
});

export async function insertTenantImport(
  db: Queryable,
  job: { id: string; slug: string; name: string; sourceTenantId: string | null; rowsTotal: number; createdBy: string | null },
): Promise<TenantImport> {
  const { rows } = await db.query<Row>(
    `INSERT INTO tenant_imports (id, status, slug, name, source_tenant_id, rows_total, created_by)
     VALUES ($1, 'running', $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [job.id, job.slug, job.name, job.sourceTenantId, job.rowsTotal, job.createdBy],
  );
  return toImport(rows[0]!);
}

export async function findTenantImport(db: Queryable, id: string): Promise<TenantImport | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM tenant_imports WHERE id = $1`, [id]);
  return rows[0] && toImport(rows[0]);
}

export async function recordTenantImportProgress(db: Queryable, id: string, progress: { tenantId?: string; rowsLoaded?: number }): Promise<void> {
  await db.query('UPDATE tenant_imports SET tenant_id = coalesce($2, tenant_id), rows_loaded = coalesce($3, rows_loaded) WHERE id = $1', [
    id,
    progress.tenantId ?? null,
    progress.rowsLoaded ?? null,
  ]);
}

export async function finishTenantImport(
  db: Queryable,
  id: string,
  outcome: { status: 'completed'; tenantId: string; rowsLoaded: number; apiKeySealed: string } | { status: 'failed'; failure: string },
): Promise<void> {
  if (outcome.status === 'completed') {
    await db.query(`UPDATE tenant_imports SET status = 'completed', tenant_id = $2, rows_loaded = $3, api_key_sealed = $4, finished_at = now() WHERE id = $1`, [
      id,
      outcome.tenantId,
      outcome.rowsLoaded,
      outcome.apiKeySealed,
    ]);
  } else {
    await db.query(`UPDATE tenant_imports SET status = 'failed', failure = $2, finished_at = now() WHERE id = $1`, [id, outcome.failure]);
  }
}

/** The sealed first key of a finished import, removed as it is read: it is shown once. */
export async function takeTenantImportApiKey(db: Queryable, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ api_key_sealed: string | null }>(
    `UPDATE tenant_imports AS job SET api_key_sealed = NULL
       FROM (SELECT id, api_key_sealed FROM tenant_imports WHERE id = $1 FOR UPDATE) AS before
      WHERE job.id = before.id AND before.api_key_sealed IS NOT NULL
      RETURNING before.api_key_sealed`,
    [id],
  );
  return rows[0]?.api_key_sealed ?? undefined;
}

/** Removes a tenant an import began and did not finish (never activated, so nothing else refers to it). */
export async function deleteUnfinishedTenant(db: Queryable, id: string): Promise<void> {
  await db.query(`DELETE FROM tenants WHERE id = $1 AND status IN ('provisioning', 'failed')`, [id]);
}

/** Imports still marked running that began more than `ms` ago. */
export async function runningTenantImportsOlderThan(db: Queryable, ms: number): Promise<Array<{ id: string; tenantId: string | null }>> {
  const { rows } = await db.query<{ id: string; tenant_id: string | null }>(
    `SELECT id, tenant_id FROM tenant_imports WHERE status = 'running' AND created_at < now() - make_interval(secs => $1::float8 / 1000)`,
    [ms],
  );
  return rows.map((row) => ({ id: row.id, tenantId: row.tenant_id }));
}

/** What a job imports, once a large archive has been read whole. */
export async function describeTenantImport(
  db: Queryable,
  id: string,
  what: { slug: string; name: string; sourceTenantId: string | null; rowsTotal: number },
): Promise<void> {
  await db.query('UPDATE tenant_imports SET slug = $2, name = $3, source_tenant_id = $4, rows_total = $5 WHERE id = $1', [
    id,
    what.slug,
    what.name,
    what.sourceTenantId,
    what.rowsTotal,
  ]);
}
