import { versionedUpdate, type Queryable } from '@codex/shared';

export interface Contact {
  id: string;
  clientId: string | null;
  /** The contact's id in the tenant's own systems; unique among live contacts, like the email. */
  externalId: string | null;
  firstName: string;
  lastName: string;
  email: string | null;
  phone: string | null;
  title: string | null;
  ownerId: string | null;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type ContactInput = Pick<Contact, 'clientId' | 'externalId' | 'firstName' | 'lastName' | 'email' | 'phone' | 'title' | 'ownerId'>;

export interface ContactRow {
  id: string;
  client_id: string | null;
  external_id: string | null;
  first_name: string;
  last_name: string;
  email: string | null;
  phone: string | null;
  title: string | null;
  owner_id: string | null;
  version: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export const CONTACT_COLUMNS = 'id, client_id, external_id, first_name, last_name, email, phone, title, owner_id, version, created_by, created_at, updated_at';
const INPUT_COLUMNS: Record<keyof ContactInput, string> = {
  clientId: 'client_id',
  externalId: 'external_id',
  firstName: 'first_name',
  lastName: 'last_name',
  email: 'email',
  phone: 'phone',
  title: 'title',
  ownerId: 'owner_id',
};

export const toContact = (row: ContactRow): Contact => ({
  id: row.id,
  clientId: row.client_id,
  externalId: row.external_id,
  firstName: row.first_name,
  lastName: row.last_name,
  email: row.email,
  phone: row.phone,
  title: row.title,
  ownerId: row.owner_id,
  version: row.version,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export async function insertContact(db: Queryable, input: ContactInput & { createdBy: string }): Promise<Contact> {
  const { rows } = await db.query<ContactRow>(
    `INSERT INTO contacts (client_id, external_id, first_name, last_name, email, phone, title, owner_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${CONTACT_COLUMNS}`,
    [input.clientId, input.externalId, input.firstName, input.lastName, input.email, input.phone, input.title, input.ownerId, input.createdBy],
  );
  return toContact(rows[0]!);
}

export async function findContact(db: Queryable, id: string, forUpdate = false): Promise<Contact | undefined> {
  const { rows } = await db.query<ContactRow>(`SELECT ${CONTACT_COLUMNS} FROM contacts WHERE id = $1 AND deleted_at IS NULL ${forUpdate ? 'FOR UPDATE' : ''}`, [
    id,
  ]);
  return rows[0] && toContact(rows[0]);
}

export async function updateContact(db: Queryable, id: string, changes: Partial<ContactInput>): Promise<Contact> {
  const { text, values } = versionedUpdate('contacts', INPUT_COLUMNS, id, changes, CONTACT_COLUMNS);
  const { rows } = await db.query<ContactRow>(text, values);
  return toContact(rows[0]!);
}

export async function softDeleteContact(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE contacts SET deleted_at = now(), version = version + 1 WHERE id = $1', [id]);
}

export async function listContacts(
  db: Queryable,
  filter: { clientId?: string; q?: string; limit: number; offset: number },
): Promise<{ items: Contact[]; total: number }> {
  const prefix = filter.q ? `${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const where = `deleted_at IS NULL AND ($1::uuid IS NULL OR client_id = $1)
    AND ($2::text IS NULL OR lower(last_name || ' ' || first_name) LIKE $2 OR lower(first_name) LIKE $2 OR lower(email) LIKE $2)`;
  const [page, count] = await Promise.all([
    db.query<ContactRow>(`SELECT ${CONTACT_COLUMNS} FROM contacts WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`, [
      filter.clientId ?? null,
      prefix,
      filter.limit,
      filter.offset,
    ]),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts WHERE ${where}`, [filter.clientId ?? null, prefix]),
  ]);
  return { items: page.rows.map(toContact), total: count.rows[0]?.n ?? 0 };
}
