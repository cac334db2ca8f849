import { blankAsNull } from '@codex/shared';
import { z } from 'zod';

const nullableText = (max: number) => z.string().trim().max(max).nullable();

/** A contact's fields as the API takes them (create, change, import). */
export const ContactFields = {
  clientId: z.uuid().nullable(),
  externalId: z.string().trim().min(1).max(200).nullable(),
  firstName: z.string().trim().max(100),
  lastName: z.string().trim().max(100),
  email: z.string().trim().max(254).pipe(z.email()).nullable(),
  phone: nullableText(50),
  title: nullableText(100),
  ownerId: z.uuid().nullable(),
};

export const hasNameOrEmail = (contact: { firstName?: string; lastName?: string; email?: string | null }) =>
  Boolean(contact.firstName || contact.lastName || contact.email);
export const NAME_OR_EMAIL = 'a contact needs a name or an email';

const name = ContactFields.firstName.nullish().transform((value) => value ?? '');

/**
 * One contact of an import file in JSON form; a blank cell is a missing value.
 * Its client is named by external id, email or id (the first given), since
 * ids differ in another tenant; the import resolves it to `clientId`.
 */
export const ImportedContact = z
  .strictObject({
    clientExternalId: blankAsNull(z.string().trim().min(1).max(200)),
    clientEmail: blankAsNull(z.string().trim().max(254).pipe(z.email())),
    externalId: blankAsNull(ContactFields.externalId),
    firstName: name,
    lastName: name,
    email: blankAsNull(ContactFields.email),
    phone: blankAsNull(ContactFields.phone),
    title: blankAsNull(ContactFields.title),
    ownerId: blankAsNull(ContactFields.ownerId),
    clientId: blankAsNull(ContactFields.clientId),
  })
  .refine(hasNameOrEmail, NAME_OR_EMAIL);
