import {
  ErrorCode,
  ApiRouter,
  idempotent,
  NotFoundError,
  requirePermission,
  requireServiceToken,
  type OpenApiRegistry,
  type ServiceDeps,
} from '@codex/shared';
import { z } from 'zod';
import { listApiKeys, revokeApiKey } from '../db/api-keys-repo';
import { findTenantById, listTenants, publicTenant, TENANT_STATUSES } from '../db/tenants-repo';
import { issueApiKey } from '../domain/api-keys';
import { provisionTenant, type ProvisioningDeps } from '../domain/provisioning';
import { changeTenant } from '../domain/tenants';

/** Names that would confuse routing, hosts or operators. */
const RESERVED_SLUGS = new Set(['admin', 'api', 'app', 'auth', 'codex', 'console', 'internal', 'postgres', 'root', 'system', 'template', 'www']);

const Slug = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/, 'must be 3-63 characters: lower-case letters, digits and hyphens, starting with a letter')
  .refine((slug) => !slug.includes('--'), 'must not contain consecutive hyphens')
  .refine((slug) => !RESERVED_SLUGS.has(slug), 'is reserved');

const CreateTenant = z.strictObject({
  name: z.string().trim().min(1).max(200),
  slug: Slug,
  plan: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/).default('free'),
});

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
const CreateKey = z.strictObject({ name: z.string().trim().min(1).max(100).default('default') });

const TenantSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  status: z.enum(TENANT_STATUSES),
  plan: z.string(),
  createdAt: z.string(),
});
const ApiKeySchema = z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), key: z.string().optional(), revokedAt: z.string().nullable() });

/** `/api/v1/admin/tenants…`: provisioning and API keys, for platform admins. */
export function tenantRoutes(deps: ServiceDeps, openapi: OpenApiRegistry) {
  const provisioning: ProvisioningDeps = {
    db: deps.db,
    serverUrl: deps.config.databaseUrl,
    templateDatabase: deps.config.tenantTemplateDatabase,
    secrets: deps.secrets,
    logger: deps.logger,
  };
  const api = new ApiRouter(openapi, '/api/v1/admin');
  api.router.use(requireServiceToken('admin', deps.config.serviceJwtSecret));
  const once = idempotent({ db: deps.db, secrets: deps.secrets, logger: deps.logger });

  api.post(
    '/tenants',
    {
      summary: 'Create a tenant: its own database, login role and first API key (shown once)',
      tags: ['tenants'],
      body: CreateTenant,
      responses: { 201: { description: 'Provisioned', schema: z.object({ tenant: TenantSchema, apiKey: ApiKeySchema }) } },
      security: 'admin',
    },
    requirePermission('tenants:write'),
    once,
    async (req, res) => {
      const result = await provisionTenant(provisioning, req.body);
      res.status(201).location(`/api/v1/admin/tenants/${result.tenant.id}`).json(result);
    },
  );

  api.get(
    '/tenants',
    { summary: 'List tenants, newest first', tags: ['tenants'], query: ListQuery, responses: { 200: { description: 'A page of tenants' } }, security: 'admin' },
    requirePermission('tenants:read'),
    async (req, res) => {
      const page = await listTenants(deps.db, req.query);
      res.json({ items: page.items.map(publicTenant), total: page.total, limit: req.query.limit, offset: req.query.offset });
    },
  );

  api.get(
    '/tenants/:id',
    { summary: 'One tenant', tags: ['tenants'], params: TenantIdParams, responses: { 200: { description: 'The tenant', schema: TenantSchema } }, security: 'admin' },
    requirePermission('tenants:read'),
    async (req, res) => {
      const tenant = await findTenantById(deps.db, req.params.id);
      if (!tenant) throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
      res.json(publicTenant(tenant));
    },
  );

  api.patch(
    '/tenants/:id',
    {
      summary: 'Rename, suspend or reactivate a tenant, or change its settings (sign-up: open | invite)',
      tags: ['tenants'],
      params: TenantIdParams,
      body: UpdateTenant,
      responses: { 200: { description: 'The tenant', schema: TenantSchema } },
      security: 'admin',
    },
    requirePermission('tenants:write'),
    async (req, res) => {
      res.json(publicTenant(await changeTenant(deps.db, req.params.id, req.body)));
    },
  );

  api.get(
    '/tenants/:id/api-keys',
    { summary: "A tenant's API keys (prefixes only)", tags: ['api keys'], params: TenantIdParams, responses: { 200: { description: 'Keys' } }, security: 'admin' },
    requirePermission('tenants:read'),
    async (req, res) => {
      if (!(await findTenantById(deps.db, req.params.id))) throw new NotFoundError('Tenant not found', ErrorCode.TENANT_NOT_FOUND);
      res.json({ items: await listApiKeys(deps.db, req.params.id) });
    },
  );

  api.post(
    '/tenants/:id/api-keys',
    { summary: 'Issue another API key (shown once)', tags: ['api keys'], params: TenantIdParams, body: CreateKey, responses: { 201: { description: 'Issued', schema: ApiKeySchema } }, security: 'admin' },
    requirePermission('tenants:write'),
    once,
    async (req, res) => {
      const issued = await issueApiKey(deps.db, req.params.id, req.body.name);
      res.status(201).location(`/api/v1/admin/tenants/${req.params.id}/api-keys/${issued.id}`).json(issued);
    },
  );

  api.delete(
    '/tenants/:id/api-keys/:keyId',
    { summary: 'Revoke an API key', tags: ['api keys'], params: KeyParams, responses: { 204: { description: 'Revoked' } }, security: 'admin' },
    requirePermission('tenants:write'),
    async (req, res) => {
      if (!(await revokeApiKey(deps.db, req.params.id, req.params.keyId))) throw new NotFoundError('API key not found', ErrorCode.API_KEY_NOT_FOUND);
      res.status(204).end();
    },
  );

  return api.router;
}

