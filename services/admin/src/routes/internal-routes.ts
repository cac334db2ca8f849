import { ApiRouter, requireCaller, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { noteKeyUsage } from '../domain/api-keys';

/** The most keys one usage report may carry; the gateway sends at most this many per call. */
export const MAX_USAGE_ENTRIES = 5_000;

const Usage = z.strictObject({
  usage: z
    .array(z.strictObject({ id: z.uuid(), lastUsedAt: z.iso.datetime({ offset: true }) }))
    .min(1)
    .max(MAX_USAGE_ENTRIES),
});

/** `/internal/...`: for other services, with a service JWT. */
export function internalRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/internal');
  api.router.use(requireCaller('gateway'));
  api.post(
    '/api-keys/usage',
    {
      operationId: 'internalReportKeyUsage',
      summary: 'When API keys were last used, batched by the gateway',
      tags: ['internal'],
      body: Usage,
      responses: { 204: { description: 'Recorded' } },
      access: 'service',
    },
    async (req, res) => {
      await noteKeyUsage(deps.db, req.body.usage);
      res.status(204).end();
    },
  );
  return api.router;
}
