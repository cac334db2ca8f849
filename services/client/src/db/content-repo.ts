import { versionedUpdate, type Queryable } from '@codex/shared';

export type BodyFormat = 'markdown' | 'json';

export interface ContentEntry {
  id: string;
  type: string;
  slug: string;
  title: string;
  bodyFormat: BodyFormat;
  body: unknown;
  version: number;
  /** draft: never published; published: live now; scheduled: goes live at publishAt. */
  status: 'draft' | 'published' | 'scheduled';
  publishedVersion: number | null;
  publishAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type ContentInput = Pick<ContentEntry, 'type' | 'slug' | 'title' | 'bodyFormat' | 'body'>;

interface EntryRow {
  id: string;
  type: string;
  slug: string;
  title: string;
  body_format: BodyFormat;
  body: unknown;
  version: number;
  published_version: number | null;
  publish_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  now: Date;
}

const COLUMNS = 'id, type, slug, title, body_format, body, version, published_version, publish_at, created_by, created_at, updated_at, now() AS now';

const toEntry = (row: EntryRow): ContentEntry => ({
  id: row.id,
  type: row.type,
  slug: row.slug,
  title: row.title,
  bodyFormat: row.body_format,
  body: row.body,
  version: row.version,
  status: row.published_version === null ? 'draft' : row.publish_at && row.publish_at > row.now ? 'scheduled' : 'published',
  publishedVersion: row.published_version,
  publishAt: row.publish_at,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

async function keepVersion(db: Queryable, entry: ContentEntry, createdBy: string): Promise<void> {
  await db.query('INSERT INTO content_versions (entry_id, version, title, body_format, body, created_by) VALUES ($1, $2, $3, $4, $5, $6)', [
    entry.id,
    entry.version,
    entry.title,
    entry.bodyFormat,
    JSON.stringify(entry.body),
    createdBy,
  ]);
}

export async function insertEntry(db: Queryable, input: ContentInput, createdBy: string): Promise<ContentEntry> {
  const { rows } = await db.query<EntryRow>(
    `INSERT INTO content_entries (type, slug, title, body_format, body, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [input.type, input.slug, input.title, input.bodyFormat, JSON.stringify(input.body), createdBy],
  );
  const entry = toEntry(rows[0]!);
  await keepVersion(db, entry, createdBy);
  return entry;
}

export async function findEntry(db: Queryable, id: string, forUpdate = false): Promise<ContentEntry | undefined> {
  const { rows } = await db.query<EntryRow>(`SELECT ${COLUMNS} FROM content_entries WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [id]);
  return rows[0] && toEntry(rows[0]);
}

const INPUT_COLUMNS: Record<keyof ContentInput, string> = { type: 'type', slug: 'slug', title: 'title', bodyFormat: 'body_format', body: 'body' };

/** Saves changes as a new version (the published one stays live until published again). */
export async function updateEntry(db: Queryable, id: string, changes: Partial<ContentInput>, createdBy: string): Promise<ContentEntry> {
  const encoded = changes.body === undefined ? changes : { ...changes, body: JSON.stringify(changes.body) };
  const { text, values } = versionedUpdate('content_entries', INPUT_COLUMNS, id, encoded, COLUMNS);
  const { rows } = await db.query<EntryRow>(text, values);
  const entry = toEntry(rows[0]!);
  await keepVersion(db, entry, createdBy);
  return entry;
}

/** Publishes `version` from `at` (null: the database's now), or takes the entry offline when version is null. */
export async function setPublication(db: Queryable, id: string, publication: { version: number | null; at: Date | null }): Promise<ContentEntry> {
  const { rows } = await db.query<EntryRow>(
    `UPDATE content_entries SET published_version = $2::int,
            publish_at = CASE WHEN $2::int IS NULL THEN NULL ELSE COALESCE($3::timestamptz, now()) END
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, publication.version, publication.at],
  );
  return toEntry(rows[0]!);
}

export async function deleteEntry(db: Queryable, id: string): Promise<boolean> {
  return Boolean((await db.query('DELETE FROM content_entries WHERE id = $1', [id])).rowCount);
}

export async function listEntries(db: Queryable, filter: { type?: string; limit: number; offset: number }): Promise<ContentEntry[]> {
  const { rows } = await db.query<EntryRow>(
    `SELECT ${COLUMNS} FROM content_entries WHERE ($1::text IS NULL OR type = $1) ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3`,
    [filter.type ?? null, filter.limit, filter.offset],
  );
  return rows.map(toEntry);
}

export async function listVersions(
  db: Queryable,
  entryId: string,
): Promise<Array<{ version: number; title: string; createdAt: Date; createdBy: string | null }>> {
  const { rows } = await db.query<{ version: number; title: string; created_at: Date; created_by: string | null }>(
    'SELECT version, title, created_at, created_by FROM content_versions WHERE entry_id = $1 ORDER BY version DESC',
    [entryId],
  );
  return rows.map((r) => ({ version: r.version, title: r.title, createdAt: r.created_at, createdBy: r.created_by }));
}

export async function versionExists(db: Queryable, entryId: string, version: number): Promise<boolean> {
  return Boolean((await db.query('SELECT 1 FROM content_versions WHERE entry_id = $1 AND version = $2', [entryId, version])).rowCount);
}

/** What the public sees: the published version of an entry, once its publish time has come. */
export async function findPublished(
  db: Queryable,
  type: string,
  slug: string,
): Promise<{ type: string; slug: string; title: string; bodyFormat: BodyFormat; body: unknown; version: number; publishedAt: Date } | undefined> {
  const { rows } = await db.query<{ title: string; body_format: BodyFormat; body: unknown; version: number; published_at: Date }>(
    `SELECT v.title, v.body_format, v.body, v.version, coalesce(e.publish_at, e.updated_at) AS published_at
       FROM content_entries e JOIN content_versions v ON v.entry_id = e.id AND v.version = e.published_version
      WHERE e.type = $1 AND e.slug = $2 AND (e.publish_at IS NULL OR e.publish_at <= now())`,
    [type, slug],
  );
  const row = rows[0];
  return row && { type, slug, title: row.title, bodyFormat: row.body_format, body: row.body, version: row.version, publishedAt: row.published_at };
}
