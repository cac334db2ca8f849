import { adminActor, adminOf, ApiRouter, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { changeDatabaseServer, databaseServers, registerDatabaseServer } from '../domain/database-servers';
import { provisioningDepsOf, serverDepsOf } from '../domain/provisioning';

const ServerName = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case name: letters, digits and hyphens, starting with a letter');
const Capacity = z.number().int().min(1).max(1_000_000).describe('Tenants the server is sized for; placement weighs tenants ÷ capacity');
const Status = z.enum(['active', 'draining', 'down']);
const DatabaseServerSchema = z
  .object({
    name: z.string(),
    host: z.string(),
    port: z.number().int(),
    capacity: z.number().int(),
    status: Status.describe('active: takes new tenants; draining: keeps its tenants, takes none; down: out of service'),
    tenants: z.number().int(),
    createdAt: z.iso.datetime().nullable().describe('null for "default", the server of DATABASE_URL'),
    updatedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'DatabaseServer' });

/** `/api/v1/admin/database-servers…`: the PostgreSQL servers tenant databases live on. */
export function databaseServerRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/admin');
  const servers = serverDepsOf(provisioningDepsOf(deps));

  api.get(
    '/database-servers',
    {
      operationId: 'listDatabaseServers',
      summary: 'The PostgreSQL servers tenants live on, the default one first, with their tenant counts (never their credentials)',
      tags: ['database servers'],
      responses: { 200: { description: 'Servers', schema: z.object({ items: z.array(DatabaseServerSchema) }) } },
      access: 'admin',
      permission: 'system:read',
    },
    async (_req, res) => {
      res.json({ items: await databaseServers(servers) });
    },
  );

  api.post(
    '/database-servers',
    {
      operationId: 'registerDatabaseServer',
      summary: 'Register a PostgreSQL server for tenant databases: probed, its tenant template migrated, its URL sealed',
      tags: ['database servers'],
      body: z.strictObject({
        name: ServerName,
        url: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).describe('A role that may create databases and roles'),
        capacity: Capacity,
      }),
      responses: { 201: { description: 'Registered', schema: DatabaseServerSchema } },
      errors: [409],
      access: 'admin',
      permission: 'system:manage',
    },
    async (req, res) => {
      const server = await registerDatabaseServer(servers, req.body, adminActor(adminOf(req)), deps.audit);
      res.status(201).location(`/api/v1/admin/database-servers/${server.name}`).json(server);
    },
  );

  api.patch(
    '/database-servers/:name',
    {
      operationId: 'updateDatabaseServer',
      summary: "Change a registered server's capacity or status",
      tags: ['database servers'],
      params: z.object({ name: ServerName }),
      body: z.strictObject({ capacity: Capacity.optional(), status: Status.optional() }).refine((body) => Object.keys(body).length > 0, 'nothing to change'),
      responses: { 200: { description: 'The server', schema: DatabaseServerSchema } },
      errors: [404],
      access: 'admin',
      permission: 'system:manage',
    },
    async (req, res) => {
      res.json(await changeDatabaseServer(servers, req.params.name, req.body, adminActor(adminOf(req)), deps.audit));
    },
  );
  return api.router;
}
