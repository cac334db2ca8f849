import { upsertByMatchKey, upsertRecords, type ClientKeys, type PoolClient, type Queryable, type UpsertCounts, type UpsertTable } from '@codex/shared';
import QueryStream from 'pg-query-stream';
import type { ClientInput } from './clients-repo';

export interface UpsertRow extends ClientInput {
  /** Line of the uploaded file, for error reports. */
  line: number;
}

const CLIENTS: UpsertTable = {
  name: 'clients',
  columns: {
    external_id: 'text',
    name: 'text',
    email: 'text',
    phone: 'text',
    kind: 'text',
    status: 'text',
    tags: 'text[]',
    owner_id: 'uuid',
    custom_fields: 'jsonb',
    created_by: 'uuid',
  },
  keepOnUpdate: ['external_id', 'created_by'],
};

/** Inserts or updates rows (no record twice), matching live clients by external id, else email. */
export function upsertClients(db: Queryable, rows: UpsertRow[], createdBy: string): Promise<UpsertCounts> {
  return upsertByMatchKey(rows, (key, group) =>
    upsertRecords(
      db,
      CLIENTS,
      key,
      group.map((r) => ({
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
      })),
    ),
  );
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

/** Live clients with any of these external ids, emails (given lower-cased) or ids; one index lookup per kind. */
export async function findClientKeys(db: Queryable, refs: { externalIds: string[]; emails: string[]; ids: string[] }): Promise<ClientKeys[]> {
  const { rows } = await db.query<{ id: string; external_id: string | null; email: string | null }>(
    `SELECT id, external_id, email FROM clients WHERE external_id = ANY($1::text[]) AND external_id IS NOT NULL AND deleted_at IS NULL
     UNION
     SELECT id, external_id, email FROM clients WHERE lower(email) = ANY($2::text[]) AND email IS NOT NULL AND deleted_at IS NULL
     UNION
     SELECT id, external_id, email FROM clients WHERE id = ANY($3::uuid[]) AND deleted_at IS NULL`,
    [refs.externalIds, refs.emails, refs.ids],
  );
  return rows.map((r) => ({ id: r.id, externalId: r.external_id, email: r.email }));
}
