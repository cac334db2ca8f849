import { ApiRouter, requireCaller, tenantUserOf, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import * as imports from '../domain/contact-import';

/** The most records one call may carry; the client service sends 500. */
const MAX_RECORDS_PER_CALL = 1_000;

const Records = z.strictObject({
  records: z
    .array(z.strictObject({ line: z.number().int().positive(), record: z.record(z.string(), z.unknown()) }))
    .min(1)
    .max(MAX_RECORDS_PER_CALL),
});
const ImportId = z.object({ importId: z.uuid() });

/**
 * `/internal/...`: the client service's import and export of contacts. The
 * client service reads the file and resolves client links; the CRM, which owns
 * contacts, validates and writes them. The user it acts for travels in the
 * service JWT.
 */
export function internalRoutes(deps: ServiceDeps, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/internal');
  api.router.use(requireCaller('client'));
  const summary = (text: string) => ({ summary: text, tags: ['internal'], security: 'service' as const });

  api.post(
    '/contacts/import',
    { ...summary('Validate and upsert a batch of contact records now (by external id, else email); bad rows come back by line'), body: Records, responses: { 200: { description: '{ inserted, updated, rowsFailed, errors }' } } },
    async (req, res) => {
      res.json(await imports.importContacts(deps.tenants, tenantUserOf(req), req.body.records));
    },
  );
  api.post(
    '/contacts/imports/:importId/rows',
    { ...summary('All-or-nothing import: validate a batch and keep its rows until commit'), params: ImportId, body: Records, responses: { 200: { description: '{ rowsFailed, errors }' } } },
    async (req, res) => {
      res.json(await imports.stageContacts(deps.tenants, tenantUserOf(req), req.params.importId, req.body.records));
    },
  );
  api.post(
    '/contacts/imports/:importId/commit',
    { ...summary('All-or-nothing import: apply every kept row in one transaction (422 and nothing written if any is refused)'), params: ImportId, responses: { 200: { description: '{ inserted, updated }' } } },
    async (req, res) => {
      res.json(await imports.commitStagedContacts(deps.tenants, tenantUserOf(req), req.params.importId));
    },
  );
  api.delete(
    '/contacts/imports/:importId',
    { ...summary('All-or-nothing import: drop the kept rows (the import failed)'), params: ImportId, responses: { 204: { description: 'Dropped' } } },
    async (req, res) => {
      await imports.discardStaged(deps.tenants, tenantUserOf(req), req.params.importId);
      res.status(204).end();
    },
  );
  api.get(
    '/contacts/export',
    {
      ...summary('Live contacts in id order, a page at a time (for the client service’s export)'),
      query: z.object({ after: z.uuid().optional(), limit: z.coerce.number().int().min(1).max(MAX_RECORDS_PER_CALL).default(500) }),
      responses: { 200: { description: '{ items, next }' } },
    },
    async (req, res) => {
      res.json(await imports.exportPage(deps.tenants, tenantUserOf(req), req.query.after ?? null, req.query.limit));
    },
  );
  return api.router;
}
