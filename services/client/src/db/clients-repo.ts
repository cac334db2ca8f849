import { versionedUpdate, type Queryable } from '@codex/shared';
import type { CLIENT_KINDS, CLIENT_STATUSES, ClientSort } from '../domain/client-fields';

export type CustomFieldValue = string | number | boolean | null;

export interface Client {
  id: string;
  kind: (typeof CLIENT_KINDS)[number];
  name: string;
  email: string | null;
  phone: string | null;
  status: (typeof CLIENT_STATUSES)[number];
  tags: string[];
  ownerId: string | null;
  externalId: string | null;
  customFields: Record<string, CustomFieldValue>;
  version: number;
  deletedAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type ClientInput = Pick<Client, 'kind' | 'name' | 'email' | 'phone' | 'status' | 'tags' | 'ownerId' | 'externalId' | 'customFields'>;

export interface ClientRow {
  id: string;
  kind: Client['kind'];
  name: string;
  email: string | null;
  phone: string | null;
  status: Client['status'];
  tags: string[];
  owner_id: string | null;
  external_id: string | null;
  custom_fields: Client['customFields'];
  version: number;
  deleted_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, kind, name, email, phone, status, tags, owner_id, external_id, custom_fields, version, deleted_at, created_by, created_at, updated_at';

export function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    email: row.email,
    phone: row.phone,
    status: row.status,
    tags: row.tags,
    ownerId: row.owner_id,
    externalId: row.external_id,
    customFields: row.custom_fields,
    version: row.version,
    deletedAt: row.deleted_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertClient(db: Queryable, input: ClientInput & { createdBy: string }): Promise<Client> {
  const { rows } = await db.query<ClientRow>(
    `INSERT INTO clients (kind, name, email, phone, status, tags, owner_id, external_id, custom_fields, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
    [input.kind, input.name, input.email, input.phone, input.status, input.tags, input.ownerId, input.externalId, input.customFields, input.createdBy],
  );
  return toClient(rows[0]!);
}

export async function findClient(db: Queryable, id: string, options: { includeDeleted?: boolean; forUpdate?: boolean } = {}): Promise<Client | undefined> {
  const { rows } = await db.query<ClientRow>(
    `SELECT ${COLUMNS} FROM clients WHERE id = $1 ${options.includeDeleted ? '' : 'AND deleted_at IS NULL'} ${options.forUpdate ? 'FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] && toClient(rows[0]);
}

const INPUT_COLUMNS: Record<keyof ClientInput, string> = {
  kind: 'kind',
  name: 'name',
  email: 'email',
  phone: 'phone',
  status: 'status',
  tags: 'tags',
  ownerId: 'owner_id',
  externalId: 'external_id',
  customFields: 'custom_fields',
};

/** Writes the given fields and bumps the version. */
export async function updateClient(db: Queryable, id: string, changes: Partial<ClientInput>): Promise<Client> {
  const { text, values } = versionedUpdate('clients', INPUT_COLUMNS, id, changes, COLUMNS);
  const { rows } = await db.query<ClientRow>(text, values);
  return toClient(rows[0]!);
}

export async function setClientDeleted(db: Queryable, id: string, deleted: boolean): Promise<Client> {
  const { rows } = await db.query<ClientRow>(
    `UPDATE clients SET deleted_at = ${deleted ? 'now()' : 'NULL'}, version = version + 1 WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return toClient(rows[0]!);
}

export interface ClientQuery {
  /** Free text: prefix of the name or email, or any word of them. */
  q?: string;
  status?: Client['status'];
  tag?: string;
  ownerId?: string;
  createdFrom?: Date;
  createdTo?: Date;
  deleted: boolean;
  sort: ClientSort;
  limit: number;
  /** The sort key and id of the last row of the previous page. */
  after?: { key: string; id: string };
}

const SORT_SQL: Record<ClientSort, { key: string; direction: 'ASC' | 'DESC' }> = {
  '-createdAt': { key: 'created_at', direction: 'DESC' },
  createdAt: { key: 'created_at', direction: 'ASC' },
  // Bytewise, so the order and a name-prefix search share one index (migration 0010).
  name: { key: 'lower(name) COLLATE "C"', direction: 'ASC' },
  '-name': { key: 'lower(name) COLLATE "C"', direction: 'DESC' },
};

/**
 * The SQL of one list page (also what the benchmark EXPLAINs). Fetches one
 * extra row to tell if more follow. A search is a UNION of three branches
 * (name prefix, email prefix, full-text words), each ordered and limited on
 * its own: the planner then uses the right index for each, where one OR of
 * the three made it misjudge selectivity and scan the whole table.
 */
export function buildClientListQuery(query: ClientQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const where = [query.deleted ? 'deleted_at IS NOT NULL' : 'deleted_at IS NULL'];
  if (query.status) where.push(`status = ${param(query.status)}`);
  if (query.tag) where.push(`tags @> ARRAY[${param(query.tag)}]::text[]`);
  if (query.ownerId) where.push(`owner_id = ${param(query.ownerId)}`);
  if (query.createdFrom) where.push(`created_at >= ${param(query.createdFrom)}`);
  if (query.createdTo) where.push(`created_at < ${param(query.createdTo)}`);
  const sort = SORT_SQL[query.sort];
  if (query.after) {
    const keyValue = sort.key === 'created_at' ? `${param(query.after.key)}::timestamptz` : param(query.after.key);
    where.push(`(${sort.key}, id) ${sort.direction === 'DESC' ? '<' : '>'} (${keyValue}, ${param(query.after.id)}::uuid)`);
  }
  const order = `ORDER BY ${sort.key} ${sort.direction}, id ${sort.direction}`;
  const limit = param(query.limit + 1);
  const select = (conditions: string[]) => `SELECT ${COLUMNS}, (${sort.key})::text AS sort_key FROM clients WHERE ${conditions.join(' AND ')}`;
  if (!query.q) return { text: `${select(where)} ${order} LIMIT ${limit}`, values };

  const prefix = param(`${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const words = param(query.q);
  const branches = [`lower(name) COLLATE "C" LIKE ${prefix}`, `lower(email) LIKE ${prefix}`, `search @@ plainto_tsquery('simple', ${words})`].map(
    (match) => `(${select([...where, match])} ${order} LIMIT ${limit})`,
  );
  const outerOrder = `ORDER BY ${sort.key} ${sort.direction}, id ${sort.direction}`;
  return { text: `SELECT * FROM (${branches.join(' UNION ')}) AS matches ${outerOrder} LIMIT ${limit}`, values };
}

/** One page in a stable order (sort key, then id), filtered in SQL. */
export async function listClients(db: Queryable, query: ClientQuery): Promise<{ items: Client[]; nextKey?: { key: string; id: string } }> {
  const { text, values } = buildClientListQuery(query);
  const { rows } = await db.query<ClientRow & { sort_key: string }>(text, values);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toClient),
    nextKey: rows.length > query.limit && last ? { key: last.sort_key, id: last.id } : undefined,
  };
}
