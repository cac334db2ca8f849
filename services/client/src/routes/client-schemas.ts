import { z } from 'zod';
import { CLIENT_KINDS, CLIENT_STATUSES } from '../domain/client-fields';

/** The client service's answers, as its OpenAPI document declares them. */
const at = z.iso.datetime();
const id = z.uuid();

export const ClientSchema = z
  .object({
    id,
    kind: z.enum(CLIENT_KINDS),
    name: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    status: z.enum(CLIENT_STATUSES),
    tags: z.array(z.string()),
    ownerId: id.nullable(),
    externalId: z.string().nullable(),
    customFields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    version: z.number().int(),
    deletedAt: at.nullable(),
    createdBy: id.nullable(),
    createdAt: at,
    updatedAt: at,
  })
  .meta({ id: 'Client' });
export const ClientPage = z.object({
  items: z.array(ClientSchema),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
});

export const ContentEntrySchema = z
  .object({
    id,
    type: z.string(),
    slug: z.string(),
    title: z.string(),
    bodyFormat: z.enum(['markdown', 'json']),
    body: z.unknown(),
    version: z.number().int(),
    status: z.enum(['draft', 'published', 'scheduled']),
    publishedVersion: z.number().int().nullable(),
    publishAt: at.nullable(),
    createdBy: id.nullable(),
    createdAt: at,
    updatedAt: at,
  })
  .meta({ id: 'ContentEntry' });
export const PublishedContent = ContentEntrySchema.pick({ type: true, slug: true, title: true, bodyFormat: true, body: true, version: true })
  .extend({ publishedAt: at })
  .meta({ id: 'PublishedContent' });
export const ContentVersions = z.object({
  items: z.array(z.object({ version: z.number().int(), title: z.string(), createdAt: at, createdBy: id.nullable() })),
});

export const ProfileSchema = z
  .object({
    userId: id,
    displayName: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    locale: z.string().nullable(),
    timezone: z.string().nullable(),
    preferences: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Profile' });
