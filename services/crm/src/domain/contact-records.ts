import type { ClientKeys } from '@codex/shared';
import type { Contact } from '../db/contacts-repo';

/**
 * The flat shape contacts are exported in and imported from. A contact names
 * its client by the client's external id, email and id: in a fresh tenant the
 * ids differ, so an import takes the first of these it is given.
 */
export const CONTACT_COLUMNS = [
  'externalId',
  'firstName',
  'lastName',
  'email',
  'phone',
  'title',
  'ownerId',
  'clientExternalId',
  'clientEmail',
  'clientId',
] as const;

export type ContactRecord = Record<(typeof CONTACT_COLUMNS)[number], string | null>;

/** A contact → its exported form, naming its client every way it can be found again. */
export function toContactRecord(contact: Contact, client: ClientKeys | undefined): ContactRecord {
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
