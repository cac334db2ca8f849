import type { PoolClient, Queryable } from '@codex/shared';
import QueryStream from 'pg-query-stream';
import type { ClientInput } from './clients-repo';

export interface UpsertRow extends ClientInput {
  /** Line of the uploaded file, for error reports. */
  line: number;
}

const RECORD_COLUMNS = `r(external_id text, name text, email text, phone text, kind text, status text, tags text[], owner_id uuid, custom_fields jsonb, created_by uuid)`;
const SET_FROM_EXCLUDED = `name = EXCLUDED.name, email = EXCLUDED.email, phone = EXCLUDED.phone, kind = EXCLUDED.kind, status = EXCLUDED.status,
  tags = EXCLUDED.tags, owner_id = EXCLUDED.owner_id, custom_fields = EXCLUDED.custom_fields, version = clients.version + 1`;

/** Live clients are matched by external id first, then by email; others are new. */
const STATEMENTS = {
  externalId: `ON CONFLICT (external_id) WHERE external_id IS NOT NULL AND deleted_at IS NULL DO UPDATE SET ${SET_FROM_EXCLUDED}`,
  email: `ON CONFLICT (lower(email)) WHERE email IS NOT NULL AND deleted_at IS NULL DO UPDATE SET ${SET_FROM_EXCLUDED}`,
  none: '',
} as const;

export type MatchKey = keyof typeof STATEMENTS;

export function matchKeyOf(row: ClientInput): MatchKey {
  return row.externalId ? 'externalId' : row.email ? 'email' : 'none';
}

/** Inserts or updates rows that share a match key in one statement; returns how many were inserted and updated. */
export async function upsertClients(db: Queryable, key: MatchKey, rows: UpsertRow[], createdBy: string): Promise<{ inserted: number; updated: number }> {
  const records = rows.map((r) => ({
    external_id: r.externalId,
    name: r.name,
    email: r.email,
    phone: r.phone,
    kind: r.kind,
    status: r.status,
    tags: r.tags,
    owner_id: r.ownerId,
    custom_fields: r.customFields,
    created_by: createdBy,
  }));
  const { rows: results } = await db.query<{ inserted: boolean }>(
    `INSERT INTO clients (external_id, name, email, phone, kind, status, tags, owner_id, custom_fields, created_by)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS ${RECORD_COLUMNS}
     ${STATEMENTS[key]}
     RETURNING (xmax = 0) AS inserted`,
    [JSON.stringify(records)],
  );
  const inserted = results.filter((r) => r.inserted).length;
  return { inserted, updated: results.length - inserted };
}

/** Runs `fn` so that its failure undoes only its own work, not the surrounding transaction. */
export async function withSavepoint<T>(tx: PoolClient, fn: () => Promise<T>): Promise<T> {
  await tx.query('SAVEPOINT import_row');
  try {
    const result = await fn();
    await tx.query('RELEASE SAVEPOINT import_row');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT import_row');
    throw err;
  }
}

/** Names of custom fields in use among live clients (export columns), capped. */
export async function customFieldNames(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT DISTINCT jsonb_object_keys(custom_fields) AS name FROM clients WHERE deleted_at IS NULL ORDER BY 1 LIMIT 200`,
  );
  return rows.map((r) => r.name);
}

/** Every live client in a stable order, as a stream of rows read in chunks (never the whole table in memory). */
export function streamClientRows(db: PoolClient): NodeJS.ReadableStream {
  return db.query(
    new QueryStream(
      `SELECT id, kind, name, email, phone, status, tags, owner_id, external_id, custom_fields, version, deleted_at, created_by, created_at, updated_at
         FROM clients WHERE deleted_at IS NULL ORDER BY created_at, id`,
      [],
      { batchSize: 500 },
    ),
  );
}
