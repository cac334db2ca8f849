import { adminActor, adminOf, ApiRouter, idempotent, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { apiKeysOf, issueApiKey, revokeKey, rotateApiKey } from '../domain/api-keys';
import { CreateKey, CreateTenant, RotateKey, TENANT_STATUSES } from '../domain/tenant-input';
import { provisionTenant, type ProvisioningDeps } from '../domain/provisioning';
import type { SpareDatabases } from '../domain/spare-databases';
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

/** `/api/v1/admin/tenants…`: provisioning and API keys, for platform admins. */
export function tenantRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry, lifecycle: LifecycleDeps, spares?: SpareDatabases) {
  const provisioning: ProvisioningDeps = {
    db: deps.db,
    serverUrl: deps.config.databaseUrl,
    templateDatabase: deps.config.provisioning.templateDatabase,
    secrets: deps.secrets,
    logger: deps.logger,
    spares,
    settings: deps.platformConfig,
  };
  const api = new ApiRouter(openapi, '/api/v1/admin');
  const reads = { access: 'admin', permission: 'tenants:read' } as const;
  const writes = { access: 'admin', permission: 'tenants:write' } as const;
  const once = idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger });

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
