import { Readable, type Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  batchedImportWriter,
  recordEncoder,
  type Actor,
  type ClientKeys,
  type ImportRun,
  type ImportWriter,
  type ServiceClient,
  type TenantPoolCache,
  type TransferFormat,
} from '@codex/shared';
import { contactsAfter, upsertContacts, type ContactPage, type ImportedContactRow } from '../db/contact-transfer-repo';
import { lookupClients } from './client-links';
import { ImportedContact } from './contact-fields';
import { CONTACT_COLUMNS, toContactRecord, type ContactRecord } from './contact-records';

/** Contacts per export page, and per client lookup. */
const PAGE_SIZE = 500;

/** A validated import row that may still name its client by reference. */
type ReferencingRow = ImportedContactRow & { clientExternalId: string | null; clientEmail: string | null };

/** Columns naming the client, most portable first: the first one given is used. */
const CLIENT_REFERENCES = ['clientExternalId', 'clientEmail', 'clientId'] as const;

/**
 * Replaces each row's client reference with the client's id, found with one
 * lookup per batch in the client service; a reference to no live client of
 * this tenant fails its row, naming the column.
 */
async function linkClients(client: ServiceClient, actor: Actor, batch: ReferencingRow[], run: ImportRun): Promise<ImportedContactRow[]> {
  const referenceOf = (row: ReferencingRow) => CLIENT_REFERENCES.find((column) => row[column] !== null);
  const wanted = { externalIds: new Set<string>(), emails: new Set<string>(), ids: new Set<string>() };
  for (const row of batch) {
    const column = referenceOf(row);
    if (column === 'clientExternalId') wanted.externalIds.add(row.clientExternalId!);
    else if (column === 'clientEmail') wanted.emails.add(row.clientEmail!.toLowerCase());
    else if (column === 'clientId') wanted.ids.add(row.clientId!.toLowerCase());
  }
  const found =
    wanted.externalIds.size + wanted.emails.size + wanted.ids.size === 0
      ? []
      : await lookupClients(client, actor, { externalIds: [...wanted.externalIds], emails: [...wanted.emails], ids: [...wanted.ids] });
  const byReference = {
    clientExternalId: new Map(found.filter((c) => c.externalId).map((c) => [c.externalId!, c.id])),
    clientEmail: new Map(found.filter((c) => c.email).map((c) => [c.email!.toLowerCase(), c.id])),
    clientId: new Map(found.map((c) => [c.id, c.id])),
  };
  const linked: ImportedContactRow[] = [];
  for (const row of batch) {
    const { clientExternalId, clientEmail, ...contact } = row;
    const column = referenceOf(row);
    if (!column) {
      linked.push(contact);
      continue;
    }
    const reference =
      column === 'clientExternalId' ? clientExternalId! : column === 'clientEmail' ? clientEmail!.toLowerCase() : contact.clientId!.toLowerCase();
    const clientId = byReference[column].get(reference);
    if (clientId) linked.push({ ...contact, clientId });
    else run.fail({ line: row.line, field: column, message: 'no such client' });
  }
  return linked;
}

/**
 * Writes imported contacts: each row validated, its client link resolved,
 * upserted by external id, else email (a rerun changes nothing); all in one
 * transaction when `atomic`.
 */
export function contactWriter(tenants: TenantPoolCache, client: ServiceClient, actor: Actor, atomic: boolean): ImportWriter {
  return batchedImportWriter<ReferencingRow, ImportedContactRow>({
    tenants,
    actor,
    atomic,
    schema: ImportedContact,
    prepare: (batch, run) => linkClients(client, actor, batch, run),
    write: (tx, rows) => upsertContacts(tx, rows, actor.userId),
    subject: 'contact',
  });
}

/**
 * Streams every live contact as CSV or JSON lines in the import format, each
 * naming its client by external id, email and id (looked up a page at a
 * time), so the file links again in a fresh tenant.
 */
export async function exportContacts(tenants: TenantPoolCache, client: ServiceClient, actor: Actor, format: TransferFormat, out: Writable): Promise<void> {
  async function* records(): AsyncGenerator<ContactRecord> {
    let after: string | null = null;
    for (;;) {
      const cursor = after;
      const page: ContactPage = await tenants.withConnection(actor.tenantId, (db) => contactsAfter(db, cursor, PAGE_SIZE));
      const clientIds = [...new Set(page.live.map((c) => c.clientId).filter((id): id is string => Boolean(id)))];
      const clients = clientIds.length ? await lookupClients(client, actor, { ids: clientIds }) : [];
      const byId = new Map<string, ClientKeys>(clients.map((c) => [c.id, c]));
      for (const contact of page.live) yield toContactRecord(contact, contact.clientId ? byId.get(contact.clientId) : undefined);
      if (!page.full) return;
      after = page.lastId;
    }
  }
  const encode = recordEncoder<ContactRecord>(format, { header: [...CONTACT_COLUMNS], row: (record) => CONTACT_COLUMNS.map((column) => record[column]) });
  await pipeline(Readable.from(records()), ...(encode as [Transform]), out);
}
