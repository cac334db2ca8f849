import { upsertByMatchKey, upsertRecords, type Queryable, type UpsertCounts, type UpsertTable } from '@codex/shared';
import { CONTACT_COLUMNS, toContact, type Contact, type ContactInput, type ContactRow } from './contacts-repo';

/** An imported contact, validated and linked, with the line of the file it came from. */
export interface ImportedContactRow extends ContactInput {
  line: number;
}

const CONTACTS: UpsertTable = {
  name: 'contacts',
  columns: {
    client_id: 'uuid',
    external_id: 'text',
    first_name: 'text',
    last_name: 'text',
    email: 'text',
    phone: 'text',
    title: 'text',
    owner_id: 'uuid',
    created_by: 'uuid',
  },
  keepOnUpdate: ['external_id', 'created_by'],
};

/** Inserts or updates rows (no record twice), matching live contacts by external id, else email. */
export function upsertContacts(db: Queryable, rows: ImportedContactRow[], createdBy: string): Promise<UpsertCounts> {
  return upsertByMatchKey(rows, (key, group) =>
    upsertRecords(
      db,
      CONTACTS,
      key,
      group.map((r) => ({
        client_id: r.clientId,
        external_id: r.externalId,
        first_name: r.firstName,
        last_name: r.lastName,
        email: r.email,
        phone: r.phone,
        title: r.title,
        owner_id: r.ownerId,
        created_by: createdBy,
      })),
    ),
  );
}

/** Sorts before every UUID, so the first page needs no special query. */
const BEFORE_ALL_IDS = '00000000-0000-0000-0000-000000000000';

/**
 * One page of contacts in id order after `afterId` (for export): a primary-key
 * range scan, whatever the statistics say (filtering deleted rows in SQL lets
 * PostgreSQL pick a partial index and sort every live row instead, as it does
 * on a freshly imported table). Returns the live ones and the last id read,
 * which is the next page's cursor.
 */
export interface ContactPage {
  live: Contact[];
  lastId: string | null;
  /** Whether the page was full, so another may follow. */
  full: boolean;
}

export async function contactsAfter(db: Queryable, afterId: string | null, limit: number): Promise<ContactPage> {
  const { rows } = await db.query<ContactRow & { deleted_at: Date | null }>(
    `SELECT ${CONTACT_COLUMNS}, deleted_at FROM contacts WHERE id > $1 ORDER BY id LIMIT $2`,
    [afterId ?? BEFORE_ALL_IDS, limit],
  );
  return { live: rows.filter((r) => r.deleted_at === null).map(toContact), lastId: rows.at(-1)?.id ?? null, full: rows.length === limit };
}
