import { ApiRouter, Instant, requiredVersion, tenantOf, tenantUserOf, withVersionEtag, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { ContentEntrySchema, ContentVersions, PublishedContent } from './client-schemas';
import { changeEntry, createEntry, entries, entryVersions, getEntry, publishedEntry, publishEntry, removeEntry, unpublishEntry } from '../domain/content';

const Type = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, - and _, up to 40');
const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,199}$/, 'lower-case letters, digits and -, up to 200');
const Body = z.union([
  z.object({ bodyFormat: z.literal('markdown'), body: z.string().max(200_000) }),
  z.object({
    bodyFormat: z.literal('json'),
    body: z.record(z.string(), z.unknown()).refine((v) => Buffer.byteLength(JSON.stringify(v)) <= 200_000, 'at most 200 KB'),
  }),
]);
/** Markdown bodies are text, JSON bodies objects; the two fields are checked together. */
const bodyMatchesFormat = (entry: { bodyFormat?: string; body?: unknown }, ctx: z.RefinementCtx) => {
  if (entry.bodyFormat === undefined && entry.body === undefined) return;
  if (!Body.safeParse({ bodyFormat: entry.bodyFormat, body: entry.body }).success) {
    ctx.addIssue({
      code: 'custom',
      path: ['body'],
      message: 'must be markdown text (bodyFormat markdown) or a JSON object (bodyFormat json), up to 200 KB, sent with its bodyFormat',
    });
  }
};
const CreateEntry = z
  .strictObject({ type: Type, slug: Slug, title: z.string().trim().min(1).max(300), bodyFormat: z.enum(['markdown', 'json']), body: z.unknown() })
  .superRefine(bodyMatchesFormat);
const UpdateEntry = z
  .strictObject({
    type: Type.optional(),
    slug: Slug.optional(),
    title: z.string().trim().min(1).max(300).optional(),
    bodyFormat: z.enum(['markdown', 'json']).optional(),
    body: z.unknown().optional(),
    version: z.number().int().positive().optional(),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), 'nothing to change')
  .superRefine(bodyMatchesFormat);
const Id = z.object({ id: z.uuid() });

/** `/api/v1/client/content…` for signed-in users, and the public read of published entries. */
export function contentRoutes(deps: ServiceDeps<'client'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/client');
  const tenants = deps.tenants;
  const read = { access: 'user', permission: 'content:read' } as const;
  const write = { access: 'user', permission: 'content:write' } as const;
  const Entry = ContentEntrySchema;

  api.get(
    '/public/content/:type/:slug',
    {
      operationId: 'getPublishedContent',
      summary: 'A published entry (only the API key needed)',
      tags: ['content'],
      params: z.object({ type: Type, slug: Slug }),
      responses: { 200: { description: 'The entry', schema: PublishedContent } },
      access: 'apiKey',
    },
    async (req, res) => {
      res.set('Cache-Control', 'public, max-age=60').json(await publishedEntry(tenants, tenantOf(req), req.params.type, req.params.slug));
    },
  );
  api.get(
    '/content',
    {
      operationId: 'listContent',
      summary: 'List entries (drafts included)',
      tags: ['content'],
      query: z.object({
        type: Type.optional(),
        limit: z.coerce.number().int().min(1).max(100).default(50),
        offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
      }),
      responses: { 200: { description: 'Entries', schema: z.object({ items: z.array(Entry) }) } },
      ...read,
    },
    async (req, res) => {
      res.json({ items: await entries(tenants, tenantUserOf(req), req.query) });
    },
  );
  api.post(
    '/content',
    {
      operationId: 'createContent',
      summary: 'Create a draft entry',
      tags: ['content'],
      body: CreateEntry,
      responses: { 201: { description: 'Created', schema: Entry } },
      errors: [409],
      ...write,
    },
    async (req, res) => {
      const entry = await createEntry(tenants, deps.entitlements, tenantUserOf(req), req.body);
      withVersionEtag(res, entry).status(201).location(`/api/v1/client/content/${entry.id}`).json(entry);
    },
  );
  api.get(
    '/content/:id',
    {
      operationId: 'getContent',
      summary: 'One entry (latest version)',
      tags: ['content'],
      params: Id,
      responses: { 200: { description: 'The entry', schema: Entry } },
      ...read,
    },
    async (req, res) => {
      const entry = await getEntry(tenants, tenantUserOf(req), req.params.id);
      withVersionEtag(res, entry).json(entry);
    },
  );
  api.patch(
    '/content/:id',
    {
      operationId: 'updateContent',
      summary: 'Save a new version (If-Match or version required)',
      tags: ['content'],
      params: Id,
      body: UpdateEntry,
      responses: { 200: { description: 'The entry', schema: Entry } },
      errors: [409, 428],
      ...write,
    },
    async (req, res) => {
      const { version, ...changes } = req.body;
      const entry = await changeEntry(
        tenants,
        deps.entitlements,
        tenantUserOf(req),
        req.params.id,
        requiredVersion(req.get('if-match'), version),
        changes as Parameters<typeof changeEntry>[5],
      );
      withVersionEtag(res, entry).json(entry);
    },
  );
  api.get(
    '/content/:id/versions',
    {
      operationId: 'listContentVersions',
      summary: 'Every saved version, newest first',
      tags: ['content'],
      params: Id,
      responses: { 200: { description: 'Versions', schema: ContentVersions } },
      ...read,
    },
    async (req, res) => {
      res.json({ items: await entryVersions(tenants, tenantUserOf(req), req.params.id) });
    },
  );
  api.post(
    '/content/:id/publish',
    {
      operationId: 'publishContent',
      summary: 'Publish a version (latest by default) now or at a later time',
      tags: ['content'],
      params: Id,
      body: z.strictObject({ at: Instant.optional(), version: z.number().int().positive().optional() }),
      responses: { 200: { description: 'The entry', schema: Entry } },
      ...write,
    },
    async (req, res) => {
      res.json(await publishEntry(tenants, tenantUserOf(req), req.params.id, req.body));
    },
  );
  api.post(
    '/content/:id/unpublish',
    {
      operationId: 'unpublishContent',
      summary: 'Take an entry offline',
      tags: ['content'],
      params: Id,
      responses: { 200: { description: 'The entry', schema: Entry } },
      ...write,
    },
    async (req, res) => {
      res.json(await unpublishEntry(tenants, tenantUserOf(req), req.params.id));
    },
  );
  api.delete(
    '/content/:id',
    {
      operationId: 'deleteContent',
      summary: 'Delete an entry and its versions',
      tags: ['content'],
      params: Id,
      responses: { 204: { description: 'Deleted' } },
      ...write,
    },
    async (req, res) => {
      await removeEntry(tenants, tenantUserOf(req), req.params.id);
      res.status(204).end();
    },
  );
  return api.router;
}
