import {
  assertActsOnAllRecords,
  ApiRouter,
  AppError,
  ErrorCode,
  NotFoundError,
  requirePermission,
  tenantUserOf,
  type Identity,
  type OpenApiRegistry,
  type ServiceDeps,
} from '@codex/shared';
import type { Readable } from 'node:stream';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { findImportJob, IMPORT_ENTITIES, listImportJobs } from '../db/import-jobs-repo';
import { exportClients } from '../domain/client-export';
import { clientWriter } from '../domain/client-import';
import { contactWriter, exportContacts } from '../domain/contact-transfer';
import { ImportRunner, within } from '../domain/import-file';

const CONTENT_TYPES = { csv: ['text/csv'], jsonl: ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'] } as const;

const ImportQuery = z.object({
  entity: z.enum(IMPORT_ENTITIES).default('clients'),
  format: z.enum(['csv', 'jsonl']),
  atomic: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

/** The `Prefer` header (RFC 7240) preferences an import honours: `respond-async` and `wait=<seconds>`. */
export function parsePrefer(header: string | undefined): { respondAsync: boolean; waitSeconds?: number } {
  const preferences = new Map(
    (header ?? '')
      .split(',')
      .map((part) => part.split(';')[0]!.trim().toLowerCase().split('=').map((token) => token.trim().replace(/^"|"$/g, '')))
      .filter(([name]) => name)
      .map(([name, value]) => [name!, value]),
  );
  const wait = Number(preferences.get('wait'));
  return { respondAsync: preferences.has('respond-async'), waitSeconds: Number.isFinite(wait) && wait >= 0 ? wait : undefined };
}

/** Bulk reads and writes of every client are for tenant owners and admins. */
function bulkActor(req: { identity?: Identity }) {
  const actor = tenantUserOf(req);
  assertActsOnAllRecords(actor, 'Imports and exports');
  return actor;
}

/** `POST /api/v1/client/import`: reads the raw upload stream, so it is mounted before JSON parsing. */
export function importRoute(deps: ServiceDeps, openapi: OpenApiRegistry, verified: RequestHandler) {
  const api = new ApiRouter(openapi, '/api/v1/client');
  const runner = new ImportRunner(deps.tenants, deps.logger);
  deps.onClose.push(() => runner.drain(deps.config.shutdownTimeoutMs));
  api.post(
    '/import',
    {
      summary: 'Import clients or contacts from CSV (text/csv) or JSON lines (application/x-ndjson); upserts by externalId, else email',
      description:
        'Bad rows are reported per row and skipped unless atomic=true. The upload is stored first, then imported in the background: the answer is ' +
        'the finished job (201, or 422 when it failed) if it ends within IMPORT_WAIT_MS (10 s), else 202 with the running job, whose Location ' +
        '(GET /import/{id}) shows progress. Prefer: respond-async answers 202 at once; Prefer: wait=N waits at most N seconds. ' +
        'Contacts are written by the CRM; each names its client by clientExternalId, clientEmail or clientId (the first given).',
      tags: ['import/export'],
      query: ImportQuery,
      responses: { 201: { description: 'The finished job' }, 202: { description: 'The running job' } },
      security: 'user',
    },
    verified,
    requirePermission('clients:write'),
    async (req, res) => {
      const actor = bulkActor(req);
      const { entity, format, atomic } = req.query;
      if (!req.is([...CONTENT_TYPES[format]])) {
        throw new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, `A ${format} import is sent as ${CONTENT_TYPES[format].join(' or ')}`);
      }
      const maxBytes = deps.config.importMaxBytes;
      if (Number(req.get('content-length') ?? 0) > maxBytes) {
        throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 413, `Import files are limited to ${maxBytes} bytes`);
      }
      const writer = entity === 'contacts' ? contactWriter(deps.tenants, deps.clients.get('crm'), actor, atomic) : clientWriter(deps.tenants, actor, atomic);
      const { job, done } = await runner.start(actor, req as unknown as Readable, { entity, format, atomic, maxBytes }, writer);
      res.location(`/api/v1/client/import/${job.id}`);

      const prefer = parsePrefer(req.get('prefer'));
      const waitMs = prefer.respondAsync ? 0 : Math.min(prefer.waitSeconds === undefined ? Infinity : prefer.waitSeconds * 1_000, deps.config.importWaitMs);
      const finished = waitMs > 0 ? await within(done, waitMs) : undefined;
      if (!finished) {
        if (prefer.respondAsync) res.set('Preference-Applied', 'respond-async');
        const current = await deps.tenants.withClient(actor.tenantId, (db) => findImportJob(db, job.id));
        res.status(202).json(current ?? job);
        return;
      }
      if (finished.status === 'failed') {
        throw new AppError(ErrorCode.IMPORT_REJECTED, 422, finished.failure ?? 'The import failed', { jobId: finished.id, rowsFailed: finished.rowsFailed, errors: finished.errors });
      }
      res.status(201).json(finished);
    },
  );
  return api.router;
}

/** `GET /import/:id` and `GET /export`. */
export function transferRoutes(deps: ServiceDeps, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/client');
  api.get(
    '/import',
    {
      summary: 'Recent import jobs, newest first, without their row errors',
      description: 'Finds imports that are still running, or whose answer was lost.',
      tags: ['import/export'],
      query: z.object({ entity: z.enum(IMPORT_ENTITIES).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }),
      responses: { 200: { description: '{ items }' } },
      security: 'user',
    },
    requirePermission('clients:read'),
    async (req, res) => {
      const actor = bulkActor(req);
      res.json({ items: await deps.tenants.withClient(actor.tenantId, (db) => listImportJobs(db, req.query)) });
    },
  );
  api.get(
    '/import/:id',
    { summary: 'An import job: progress and per-row errors', tags: ['import/export'], params: z.object({ id: z.uuid() }), responses: { 200: { description: 'The job' } }, security: 'user' },
    requirePermission('clients:read'),
    async (req, res) => {
      const actor = bulkActor(req);
      const job = await deps.tenants.withClient(actor.tenantId, (db) => findImportJob(db, req.params.id));
      if (!job) throw new NotFoundError('Import job not found', ErrorCode.IMPORT_NOT_FOUND);
      res.json(job);
    },
  );
  api.get(
    '/export',
    {
      summary: 'Every client or contact, streamed as CSV or JSON lines (the import format)',
      tags: ['import/export'],
      query: z.object({ entity: z.enum(IMPORT_ENTITIES).default('clients'), format: z.enum(['csv', 'jsonl']).default('csv') }),
      responses: { 200: { description: 'The file' } },
      security: 'user',
    },
    requirePermission('clients:read'),
    async (req, res) => {
      const actor = bulkActor(req);
      const { entity, format } = req.query;
      res.set({
        'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        'Content-Disposition': `attachment; filename="${entity}.${format}"`,
        'Cache-Control': 'no-store',
      });
      if (entity === 'contacts') await exportContacts(deps.tenants, deps.clients.get('crm'), actor, format, res);
      else await exportClients(deps.tenants, actor, format, res);
    },
  );
  return api.router;
}
