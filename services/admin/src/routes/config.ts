import { adminActor, adminOf, ApiRouter, PlatformSettings, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { changePlatformSettings, platformSettingsHistory, rollBackPlatformSettings } from '../domain/platform-settings';

const VersionFields = {
  version: z.number().int().describe('0 until the configuration is first saved'),
  changedBy: z.string().nullable(),
  changedAt: z.iso.datetime().nullable(),
  restoredFrom: z.number().int().nullable().describe('The version a rollback restored'),
};
const ConfigSchema = z.object({ ...VersionFields, settings: PlatformSettings }).meta({ id: 'PlatformConfig' });
const ChangeSchema = z.object({ path: z.string(), before: z.unknown(), after: z.unknown() });

/** `/api/v1/admin/config…`: the live platform configuration, versioned. */
export function configRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/admin');

  api.get(
    '/config',
    {
      operationId: 'getPlatformConfig',
      summary: 'The platform configuration in force, with its version',
      tags: ['config'],
      responses: { 200: { description: 'In force', schema: ConfigSchema } },
      access: 'admin',
      permission: 'system:read',
    },
    async (_req, res) => {
      await deps.platformConfig.refresh();
      res.json(await deps.platformConfig.current());
    },
  );

  api.put(
    '/config',
    {
      operationId: 'putPlatformConfig',
      summary:
        'Replace the platform configuration (the whole document; a setting left out takes its default): a new version, in force everywhere within seconds',
      tags: ['config'],
      body: PlatformSettings,
      responses: { 200: { description: 'The new version', schema: ConfigSchema } },
      access: 'admin',
      permission: 'system:manage',
    },
    async (req, res) => {
      const saved = await changePlatformSettings(deps.db, req.body, adminActor(adminOf(req)));
      await deps.platformConfig.refresh();
      res.json(saved);
    },
  );

  api.get(
    '/config/versions',
    {
      operationId: 'listPlatformConfigVersions',
      summary: 'Saved versions, newest first: who, when, and what each changed',
      tags: ['config'],
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
      responses: { 200: { description: 'Versions', schema: z.object({ items: z.array(z.object({ ...VersionFields, changes: z.array(ChangeSchema) })) }) } },
      access: 'admin',
      permission: 'system:read',
    },
    async (req, res) => {
      res.json({ items: await platformSettingsHistory(deps.db, req.query.limit) });
    },
  );

  api.post(
    '/config/rollback',
    {
      operationId: 'rollBackPlatformConfig',
      summary: "Make an earlier version's settings current again (as a new version)",
      tags: ['config'],
      body: z.strictObject({ version: z.number().int().positive() }),
      responses: { 200: { description: 'The new version', schema: ConfigSchema } },
      errors: [404],
      access: 'admin',
      permission: 'system:manage',
    },
    async (req, res) => {
      const saved = await rollBackPlatformSettings(deps.db, req.body.version, adminActor(adminOf(req)));
      await deps.platformConfig.refresh();
      res.json(saved);
    },
  );

  return api.router;
}
