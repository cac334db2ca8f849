import { AppError, adminActor, adminOf, ApiRouter, ErrorCode, idempotent, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { apiKeysOf, issueApiKey, revokeKey, rotateApiKey } from '../domain/api-keys';
import { ARCHIVE_MEDIA_TYPE } from '../domain/tenant-archive';
import { CreateKey, CreateTenant, RotateKey, Slug, TENANT_STATUSES } from '../domain/tenant-input';
import { moveTenant } from '../domain/tenant-move';
import { prepareTenantExport, TenantImports } from '../domain/tenant-transfer';
import { provisionTenant, type ProvisioningDeps } from '../domain/provisioning';
import { deleteTenant, restoreTenant, type LifecycleDeps } from '../domain/tenant-lifecycle';
import { changeTenant, publicTenant, setTenantSuspended, tenantById, tenantPage } from '../domain/tenants';

const TenantIdParams = z.object({ id: z.uuid() });
const UpdateTenant = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(['active', 'suspended']).optional(),
    settings: z.strictObject({ signup: z.enum(['open', 'invite']).optional() }).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');
const KeyParams = z.object({ id: z.uuid(), keyId: z.uuid() });
const ListQuery = z.object({
  status: z.enum(TENANT_STATUSES).optional(),
  q: z.string().trim().min(1).max(100).optional().describe('Only tenants whose slug or name contains this, any case'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

const TenantSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    status: z.enum(TENANT_STATUSES),
    suspendedFor: z
      .enum(['admin', 'unpaid'])
      .nullable()
      .describe("Why a suspended tenant is suspended: an admin's decision, or an unpaid invoice (paying it lifts the suspension)"),
    plan: z.string(),
    dbServer: z.string(),
    dbName: z.string().nullable(),
    dbRole: z.string().nullable(),
    deletedAt: z.iso.datetime().nullable().describe('Set while the tenant is being deleted'),
    purgeAfter: z.iso.datetime().nullable().describe('When its database may be dropped; it can be restored until then'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Tenant' });
const ApiKeySchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
    expiresAt: z.iso.datetime().nullable().describe('When a rotated key stops working'),
    replacedBy: z.uuid().nullable().describe('The key that replaced it in a rotation'),
    createdBy: z.string().nullable().describe('Who issued it: an admin id, `cli:<user>` or `provisioning`'),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'ApiKey' });
const IssuedApiKeySchema = z.object({ ...ApiKeySchema.shape, key: z.string().describe('The secret: shown once, never again') }).meta({ id: 'IssuedApiKey' });
const TenantImportSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['running', 'completed', 'failed']),
    slug: z.string(),
    name: z.string(),
    sourceTenantId: z.uuid().nullable().describe('The tenant the archive was exported from'),
    tenantId: z.uuid().nullable().describe('The new tenant, once it exists; when the import failed, the tenant it had begun (removed again)'),
    rowsTotal: z.number().int(),
    rowsLoaded: z.number().int(),
    failure: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    // Inline, not a reference: OpenAPI 3.0 cannot make a referenced schema nullable.
    apiKey: z
      .object({ ...IssuedApiKeySchema.shape })
      .nullable()
      .describe("The new tenant's first key: in the first answer after the import completed, never again"),
  })
  .meta({ id: 'TenantImport' });

/** `/api/v1/admin/tenants…`: provisioning and API keys, for platform admins. */
export function tenantRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry, lifecycle: LifecycleDeps, provisioning: ProvisioningDeps) {
  const api = new ApiRouter(openapi, '/api/v1/admin');
  const reads = { access: 'admin', permission: 'tenants:read' } as const;
  const writes = { access: 'admin', permission: 'tenants:write' } as const;
  const once = idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger });
  const imports = new TenantImports({ ...provisioning, maxBytes: deps.config.lifecycle.archiveMaxBytes, audit: deps.audit });
  deps.onClose.push(() => imports.drain());

  api.post(
    '/tenants',
    {
      operationId: 'createTenant',
      summary: 'Create a tenant: its own database, login role and first API key (shown once)',
      tags: ['tenants'],
      body: CreateTenant,
      responses: { 201: { description: 'Provisioned', schema: z.object({ tenant: TenantSchema, apiKey: IssuedApiKeySchema }) } },
      errors: [409, 422],
      ...writes,
    },
    once,
    async (req, res) => {
      const result = await provisionTenant(provisioning, req.body, undefined, adminActor(adminOf(req)));
      res.status(201).location(`/api/v1/admin/tenants/${result.tenant.id}`).json(result);
    },
  );

  api.get(
    '/tenants',
    {
      operationId: 'listTenants',
      summary: 'List tenants, newest first',
      tags: ['tenants'],
      query: ListQuery,
      responses: {
        200: {
          description: 'A page of tenants',
          schema: z.object({ items: z.array(TenantSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }),
        },
      },
      ...reads,
    },
    async (req, res) => {
      const page = await tenantPage(deps.db, req.query);
      res.json({ items: page.items.map(publicTenant), total: page.total, limit: req.query.limit, offset: req.query.offset });
    },
  );

  api.get(
    '/tenants/:id',
    {
      operationId: 'getTenant',
      summary: 'One tenant',
      tags: ['tenants'],
      params: TenantIdParams,
      responses: { 200: { description: 'The tenant', schema: TenantSchema } },
      ...reads,
    },
    async (req, res) => {
      res.json(publicTenant(await tenantById(deps.db, req.params.id)));
    },
  );

  api.patch(
    '/tenants/:id',
    {
      operationId: 'updateTenant',
      summary: 'Rename, suspend or reactivate a tenant, or change its settings (sign-up: open | invite)',
      tags: ['tenants'],
      params: TenantIdParams,
      body: UpdateTenant,
      responses: { 200: { description: 'The tenant', schema: TenantSchema } },
      errors: [409],
      ...writes,
    },
    async (req, res) => {
      res.json(publicTenant(await changeTenant(deps, req.params.id, req.body, adminActor(adminOf(req)))));
    },
  );

  for (const [action, suspended] of [
    ['suspend', true],
    ['resume', false],
  ] as const) {
    api.post(
      `/tenants/:id/${action}`,
      {
        operationId: `${action}Tenant`,
        summary: suspended
          ? 'Suspend a tenant: its keys get 403 TENANT_SUSPENDED on every gateway within seconds and its pooled connections close (idempotent)'
          : 'Resume a suspended tenant, whatever suspended it (idempotent)',
        tags: ['tenants'],
        params: TenantIdParams,
        responses: { 200: { description: 'The tenant as it now is', schema: TenantSchema } },
        errors: [409],
        ...writes,
      },
      async (req, res) => {
        res.json(publicTenant(await setTenantSuspended(deps, req.params.id, suspended, adminActor(adminOf(req)))));
      },
    );
  }

  api.delete(
    '/tenants/:id',
    {
      operationId: 'deleteTenant',
      summary: 'Delete a tenant: its keys stop working at once; it can be restored until purgeAfter, when its database and role are dropped (idempotent)',
      tags: ['tenants'],
      params: TenantIdParams,
      responses: { 202: { description: 'Being deleted', schema: TenantSchema } },
      errors: [404, 409],
      ...writes,
    },
    async (req, res) => {
      res.status(202).json(publicTenant(await deleteTenant(lifecycle, req.params.id, adminActor(adminOf(req)))));
    },
  );

  api.get(
    '/tenants/:id/export',
    {
      operationId: 'exportTenant',
      summary: "Stream the tenant's whole database as an archive (gzip JSON lines, one consistent moment); suspended and deleting tenants too",
      description:
        'The archive: a header (tenant, tenant schema migrations), then per table a $table line, its rows as row_to_json objects and an $end line with the count, then a $trailer with every count. POST /api/v1/admin/tenants/import reads it back as a new tenant.',
      tags: ['tenants'],
      params: TenantIdParams,
      responses: { 200: { description: 'The archive', content: { [ARCHIVE_MEDIA_TYPE]: z.string() } } },
      errors: [404, 409],
      ...writes,
    },
    async (req, res) => {
      const prepared = await prepareTenantExport(provisioning, req.params.id, adminActor(adminOf(req)), deps.audit);
      res.set({
        'Content-Type': ARCHIVE_MEDIA_TYPE,
        'Content-Disposition': `attachment; filename="${prepared.tenant.slug}-${new Date().toISOString().slice(0, 10)}.tenant.jsonl.gz"`,
        'Cache-Control': 'no-store',
      });
      await prepared.write(res);
    },
  );

  api.post(
    '/tenants/import',
    {
      operationId: 'importTenant',
      summary:
        'Import a tenant archive as a new tenant: checked whole first (400 ARCHIVE_INVALID, nothing made), then loaded in the background (202, follow Location)',
      description:
        "The slug, name and plan are the archive's unless given. The archive must come from a platform with the same tenant schema. An archive too large to read whole within 10 s is answered 202 at once; its job then fails with the same reason (nothing made) if it is not valid. Sessions (refresh tokens) are not imported: users sign in again. A load that fails removes the half-made tenant and says why in the job.",
      tags: ['tenants'],
      query: z.strictObject({
        slug: Slug.optional(),
        name: z.string().trim().min(1).max(200).optional(),
        plan: z
          .string()
          .regex(/^[a-z][a-z0-9_-]{0,39}$/)
          .optional(),
      }),
      rawBody: { contentTypes: [ARCHIVE_MEDIA_TYPE], description: 'An archive from GET /api/v1/admin/tenants/{id}/export' },
      responses: { 202: { description: 'Checked and loading', schema: TenantImportSchema } },
      errors: [409, 413, 415],
      ...writes,
    },
    async (req, res) => {
      if (!req.is(ARCHIVE_MEDIA_TYPE)) throw new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, `A tenant archive is sent as ${ARCHIVE_MEDIA_TYPE}`);
      const maxBytes = deps.config.lifecycle.archiveMaxBytes;
      if (Number(req.get('content-length') ?? 0) > maxBytes)
        throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 413, `Tenant archives are limited to ${maxBytes} bytes`);
      const job = await imports.start(req, req.query, adminActor(adminOf(req)));
      res
        .status(202)
        .location(`/api/v1/admin/tenant-imports/${job.id}`)
        .json({ ...job, apiKey: null });
    },
  );

  api.get(
    '/tenant-imports/:id',
    {
      operationId: 'getTenantImport',
      summary: "A tenant import's progress; the first answer after it completed carries the new tenant's API key",
      tags: ['tenants'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The import', schema: TenantImportSchema } },
      errors: [404],
      ...writes,
    },
    async (req, res) => {
      res.json(await imports.view(req.params.id));
    },
  );

  api.post(
    '/tenants/:id/move',
    {
      operationId: 'moveTenant',
      summary: "Move the tenant's database to another server and switch it there; writes pause for the copy (503 with Retry-After), none is lost",
      description:
        'The answer comes when the tenant serves from the new server (its pools everywhere follow within a second). 404: unknown tenant or server; 409: not active or suspended, already there, or the server is not active; 503: the server does not answer (the tenant stays where it was, serving). The copy runs inside the request: a tenant whose copy takes longer than the gateway allows (30 s) is moved at the admin service directly.',
      tags: ['tenants'],
      params: TenantIdParams,
      body: z.strictObject({ server: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a database server name') }),
      responses: {
        200: {
          description: 'Moved',
          schema: z.object({
            tenant: TenantSchema,
            from: z.string(),
            to: z.string(),
            rows: z.number().int(),
            writePauseMs: z.number().int().describe('From closing the old database to the committed switch'),
          }),
        },
      },
      errors: [404, 409],
      ...writes,
    },
    async (req, res) => {
      res.json(await moveTenant(provisioning, req.params.id, req.body.server, adminActor(adminOf(req)), deps.audit));
    },
  );

  api.post(
    '/tenants/:id/restore',
    {
      operationId: 'restoreTenant',
      summary: 'Restore a tenant being deleted, as it was before (409 TENANT_NOT_DELETING for any other)',
      tags: ['tenants'],
      params: TenantIdParams,
      responses: { 200: { description: 'The tenant', schema: TenantSchema } },
      errors: [404, 409],
      ...writes,
    },
    async (req, res) => {
      res.json(publicTenant(await restoreTenant(lifecycle, req.params.id, adminActor(adminOf(req)))));
    },
  );

  api.get(
    '/tenants/:id/api-keys',
    {
      operationId: 'listApiKeys',
      summary: "A tenant's API keys (prefixes only)",
      tags: ['api keys'],
      params: TenantIdParams,
      responses: { 200: { description: 'Keys', schema: z.object({ items: z.array(ApiKeySchema) }) } },
      ...reads,
    },
    async (req, res) => {
      res.json({ items: await apiKeysOf(deps.db, req.params.id) });
    },
  );

  api.post(
    '/tenants/:id/api-keys',
    {
      operationId: 'issueApiKey',
      summary: 'Issue another API key (shown once)',
      tags: ['api keys'],
      params: TenantIdParams,
      body: CreateKey,
      responses: { 201: { description: 'Issued', schema: IssuedApiKeySchema } },
      errors: [409, 422],
      ...writes,
    },
    once,
    async (req, res) => {
      const issued = await issueApiKey(deps.db, req.params.id, req.body.name, adminActor(adminOf(req)));
      res.status(201).location(`/api/v1/admin/tenants/${req.params.id}/api-keys/${issued.id}`).json(issued);
    },
  );

  api.post(
    '/tenants/:id/api-keys/:keyId/rotate',
    {
      operationId: 'rotateApiKey',
      summary: 'Replace a key: the new one (shown once) works at once, the old one until the overlap ends',
      tags: ['api keys'],
      params: KeyParams,
      body: RotateKey,
      responses: {
        201: { description: 'Rotated', schema: z.object({ key: IssuedApiKeySchema, previous: ApiKeySchema.describe('The old key, with its expiresAt') }) },
      },
      errors: [404, 409],
      ...writes,
    },
    once,
    async (req, res) => {
      const rotated = await rotateApiKey(deps.db, req.params.id, req.params.keyId, req.body, adminActor(adminOf(req)));
      res.status(201).location(`/api/v1/admin/tenants/${req.params.id}/api-keys/${rotated.key.id}`).json(rotated);
    },
  );

  api.delete(
    '/tenants/:id/api-keys/:keyId',
    {
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      tags: ['api keys'],
      params: KeyParams,
      responses: { 204: { description: 'Revoked' } },
      ...writes,
    },
    async (req, res) => {
      await revokeKey(deps.db, req.params.id, req.params.keyId, adminActor(adminOf(req)));
      res.status(204).end();
    },
  );

  return api.router;
}
