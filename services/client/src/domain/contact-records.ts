import type { ContactView } from '@codex/shared';
import { neutraliseFormula } from './client-records';

/**
 * The flat shape contacts are exported in and imported from. A contact names
 * its client by the client's external id, email or id: in a fresh tenant the
 * ids differ, so an import takes the first of these it is given.
 */
export const CONTACT_COLUMNS = ['externalId', 'firstName', 'lastName', 'email', 'phone', 'title', 'ownerId', 'clientExternalId', 'clientEmail', 'clientId'] as const;

/** Columns naming the client, most portable first. */
export const CLIENT_REFERENCES = ['clientExternalId', 'clientEmail', 'clientId'] as const;
export type ClientReference = (typeof CLIENT_REFERENCES)[number];

export interface LinkedClient {
  externalId: string | null;
  email: string | null;
}

/** A contact → its exported JSON form, naming its client every way it can be found again. */
export function toContactRecord(contact: ContactView, client: LinkedClient | undefined): Record<(typeof CONTACT_COLUMNS)[number], string | null> {
  return {
    externalId: contact.externalId,
    firstName: contact.firstName,
    lastName: contact.lastName,
    email: contact.email,
    phone: contact.phone,
    title: contact.title,
    ownerId: contact.ownerId,
    clientExternalId: client?.externalId ?? null,
    clientEmail: client?.email ?? null,
    clientId: contact.clientId,
  };
}

/** An exported contact record → one CSV record in CONTACT_COLUMNS order. */
export function toContactCsvRecord(record: ReturnType<typeof toContactRecord>): string[] {
  return CONTACT_COLUMNS.map((column) => neutraliseFormula(record[column] ?? ''));
}
