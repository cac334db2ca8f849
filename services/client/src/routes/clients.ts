import {
  ApiRouter,
  Instant,
  idempotent,
  tenantUserOf,
  expectedVersion,
  requiredVersion,
  withVersionEtag,
  type OpenApiRegistry,
  type ServiceDeps,
} from '@codex/shared';
import { z } from 'zod';
import { CLIENT_KINDS, CLIENT_SORTS, CLIENT_STATUSES } from '../domain/client-fields';
import { ClientPage, ClientSchema } from './client-schemas';
import { changeClient, createClient, deleteClient, getClient, restoreClient, searchClients } from '../domain/clients';

/** Custom fields: up to 50 named values of simple types, at most 16 KB together. */
const CustomFields = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'field names are lower_snake_case, up to 40 characters'),
    z.union([z.string().max(1_000), z.number().finite(), z.boolean(), z.null()]),
  )
  .refine((fields) => Object.keys(fields).length <= 50, 'at most 50 custom fields')
  .refine((fields) => Buffer.byteLength(JSON.stringify(fields)) <= 16_384, 'custom fields are limited to 16 KB');

const Tag = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .regex(/^[^,]+$/, 'tags cannot contain commas');

const ClientFields = {
  kind: z.enum(CLIENT_KINDS),
  name: z.string().trim().min(1).max(300),
  email: z.string().trim().max(254).pipe(z.email()).nullable(),
  phone: z.string().trim().max(50).nullable(),
  status: z.enum(CLIENT_STATUSES),
  tags: z
    .array(Tag)
    .max(50)
    .transform((tags) => [...new Set(tags)]),
  ownerId: z.uuid().nullable(),
  externalId: z.string().trim().min(1).max(200).nullable(),
  customFields: CustomFields,
};

const CreateClient = z.strictObject({
  kind: ClientFields.kind.default('company'),
  name: ClientFields.name,
  email: ClientFields.email.default(null),
  phone: ClientFields.phone.default(null),
  status: ClientFields.status.default('active'),
  tags: ClientFields.tags.default([]),
  ownerId: ClientFields.ownerId.optional(),
  externalId: ClientFields.externalId.default(null),
  customFields: ClientFields.customFields.default({}),
});

const UpdateClient = z
  .strictObject({
    ...Object.fromEntries(Object.entries(ClientFields).map(([key, schema]) => [key, schema.optional()])),
    version: z.number().int().positive().optional(),
  } as { [K in keyof typeof ClientFields]: z.ZodOptional<(typeof ClientFields)[K]> } & { version: z.ZodOptional<z.ZodNumber> })
  .refine((body) => Object.keys(body).some((key) => key !== 'version'), 'nothing to change');

const IdParams = z.object({ id: z.uuid() });

const Cursor = z
  .string()
  .max(500)
  .transform((value, ctx) => {
    try {
      const parsed = z.object({ key: z.string().max(300), id: z.uuid() }).parse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
      return parsed;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor from a previous page' });
      return z.NEVER;
    }
  });

const ListQuery = z.object({
  q: z.string().trim().min(1).max(100).optional(),
  status: z.enum(CLIENT_STATUSES).optional(),
  tag: Tag.optional(),
  owner: z.uuid().optional(),
  createdFrom: Instant.optional(),
  createdTo: Instant.optional(),
  deleted: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  sort: z.enum(CLIENT_SORTS).default('-createdAt'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: Cursor.optional(),
});

/** `/api/v1/client/clients…`: the tenant's customers. */
export function clientRoutes(deps: ServiceDeps<'client'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/client');
  const tenants = deps.tenants;
  const read = { access: 'user', permission: 'clients:read' } as const;
  const write = { access: 'user', permission: 'clients:write' } as const;

  api.get(
    '/clients',
    {
      operationId: 'listClients',
      summary: 'Search and list clients (cursor paging, stable order)',
      tags: ['clients'],
      query: ListQuery,
      responses: { 200: { description: 'A page of clients', schema: ClientPage } },
      ...read,
    },
    async (req, res) => {
      const { cursor, owner, ...filters } = req.query;
      const page = await searchClients(tenants, tenantUserOf(req), { ...filters, ownerId: owner, after: cursor });
      res.json({ items: page.items, nextCursor: page.nextKey ? Buffer.from(JSON.stringify(page.nextKey)).toString('base64url') : null });
    },
  );
  api.post(
    '/clients',
    {
      operationId: 'createClient',
      summary: 'Create a client',
      tags: ['clients'],
      body: CreateClient,
      responses: { 201: { description: 'Created', schema: ClientSchema } },
      errors: [409, 422],
      ...write,
    },
    idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger }),
    async (req, res) => {
      const client = await createClient(tenants, deps.entitlements, tenantUserOf(req), { ...req.body, ownerId: req.body.ownerId ?? null });
      withVersionEtag(res, client).status(201).location(`/api/v1/client/clients/${client.id}`).json(client);
    },
  );
  api.get(
    '/clients/:id',
    {
      operationId: 'getClient',
      summary: 'One client',
      tags: ['clients'],
      params: IdParams,
      responses: { 200: { description: 'The client', schema: ClientSchema } },
      ...read,
    },
    async (req, res) => {
      const client = await getClient(tenants, tenantUserOf(req), req.params.id);
      withVersionEtag(res, client).json(client);
    },
  );
  api.patch(
    '/clients/:id',
    {
      operationId: 'updateClient',
      summary: 'Change a client; send If-Match with its ETag (or "version") — 409 if it changed meanwhile',
      tags: ['clients'],
      params: IdParams,
      body: UpdateClient,
      responses: { 200: { description: 'The client', schema: ClientSchema } },
      errors: [409, 428],
      ...write,
    },
    async (req, res) => {
      const { version, ...changes } = req.body;
      const client = await changeClient(tenants, tenantUserOf(req), req.params.id, requiredVersion(req.get('if-match'), version), changes);
      withVersionEtag(res, client).json(client);
    },
  );
  api.delete(
    '/clients/:id',
    {
      operationId: 'deleteClient',
      summary: 'Delete a client (restorable)',
      tags: ['clients'],
      params: IdParams,
      responses: { 204: { description: 'Deleted' } },
      errors: [409],
      ...write,
    },
    async (req, res) => {
      await deleteClient(tenants, tenantUserOf(req), req.params.id, expectedVersion(req.get('if-match')));
      res.status(204).end();
    },
  );
  api.post(
    '/clients/:id/restore',
    {
      operationId: 'restoreClient',
      summary: 'Restore a deleted client',
      tags: ['clients'],
      params: IdParams,
      responses: { 200: { description: 'The client', schema: ClientSchema } },
      errors: [409],
      ...write,
    },
    async (req, res) => {
      const client = await restoreClient(tenants, tenantUserOf(req), req.params.id);
      withVersionEtag(res, client).json(client);
    },
  );
  return api.router;
}
