import type { Readable, Writable } from 'node:stream';
import type { Router } from 'express';
import { z } from 'zod';
import { tenantUserOf, type Permission } from '../auth/permissions';
import type { Actor } from '../auth/record-rules';
import { AppError, ErrorCode, NotFoundError } from '../errors';
import { ApiRouter, type OpenApiRegistry } from '../openapi';
import type { ServiceDeps } from '../service-deps';
import { TRANSFER_MEDIA_TYPES, type TransferFormat } from './csv-cells';
import { findImportJob, listImportJobs, type ImportEntity } from './import-jobs-repo';
import { ImportRunner, within, type ImportOptions, type ImportWriter } from './import-runner';

/** The `Prefer` header (RFC 7240) preferences an import honours: `respond-async` and `wait=<seconds>`. */
export function parsePrefer(header: string | undefined): { respondAsync: boolean; waitSeconds?: number } {
  const preferences = new Map(
    (header ?? '')
      .split(',')
      .map((part) =>
        part
          .split(';')[0]!
          .trim()
          .toLowerCase()
          .split('=')
          .map((token) => token.trim().replace(/^"|"$/g, '')),
      )
      .filter(([name]) => name)
      .map(([name, value]) => [name!, value]),
  );
  const wait = Number(preferences.get('wait'));
  return { respondAsync: preferences.has('respond-async'), waitSeconds: Number.isFinite(wait) && wait >= 0 ? wait : undefined };
}

const RowErrorSchema = z.object({ line: z.number().int(), field: z.string().optional(), message: z.string() });
const JobSummaryFields = {
  id: z.uuid(),
  entity: z.string(),
  format: z.enum(['csv', 'jsonl']),
  atomic: z.boolean(),
  status: z.enum(['running', 'completed', 'failed']),
  rowsRead: z.number().int(),
  rowsInserted: z.number().int(),
  rowsUpdated: z.number().int(),
  rowsFailed: z.number().int(),
  failure: z.string().nullable(),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
};
/** An import job as the API answers it. */
export const ImportJobSchema = z.object({ ...JobSummaryFields, errors: z.array(RowErrorSchema) }).meta({ id: 'ImportJob' });
const ImportJobSummarySchema = z.object(JobSummaryFields).meta({ id: 'ImportJobSummary' });

/** What a service plugs into the import kit for one entity it owns. */
export interface EntityTransfer {
  /** 'clients', 'contacts': the entity's name in paths' descriptions, jobs and file names. */
  entity: ImportEntity;
  /** Where the routes are mounted, e.g. `/api/v1/crm`. */
  mountPath: string;
  /** Stem of the operation ids, e.g. `Contacts` → `importContacts`, `exportContacts`. */
  operationStem: string;
  /** What the import description adds about this entity (match keys, links). */
  description: string;
  /** A CSV record → the JSON form the writer validates (default: cells as they are, formula guard removed). */
  fromCsv?: ImportOptions['fromCsv'];
  /** Writes the import's records for `actor`; all or nothing when `atomic`. */
  writer(actor: Actor, atomic: boolean): ImportWriter;
  /** Streams every live record to `out` in `format`. */
  exporter(actor: Actor, format: TransferFormat, out: Writable): Promise<void>;
}

const FormatQuery = { format: z.enum(['csv', 'jsonl']) };

/**
 * The import/export kit every service that owns an importable entity uses:
 * `POST /import` (the raw upload, spooled then imported in the background,
 * answered as the finished job or 202 with the running one), `GET /import`,
 * `GET /import/:id` and `GET /export`. The service plugs in only its
 * entity's writer and exporter. The upload declares a raw body, so JSON
 * body parsing leaves its stream alone.
 */
export function entityTransferRoutes(deps: ServiceDeps<'client' | 'crm'>, openapi: OpenApiRegistry, transfer: EntityTransfer): Router {
  const { entity, mountPath, operationStem } = transfer;
  // Bulk reads and writes of every record of an entity are for tenant owners and admins.
  const permission: Permission = 'data:transfer';
  const runner = new ImportRunner(deps.tenants, deps.logger, deps.metrics);
  deps.onClose.push(() => runner.drain(deps.config.shutdownTimeoutMs));
  const jobPath = (id: string) => `${mountPath}/import/${id}`;
  // `entity` may still be named, as it was when one service imported both clients and contacts; it must be this one.
  const Entity = { entity: z.literal(entity, { error: `this route imports and exports ${entity} only` }).optional() };

  const api = new ApiRouter(openapi, mountPath);
  api.post(
    '/import',
    {
      operationId: `import${operationStem}`,
      summary: `Import ${entity} from CSV (text/csv) or JSON lines (application/x-ndjson)`,
      description:
        `${transfer.description} Bad rows are reported by line and skipped unless atomic=true (then nothing is written). The upload is stored first, ` +
        'then imported in the background: the answer is the finished job (201, or 422 when it failed) if it ends within IMPORT_WAIT_MS (10 s), ' +
        'else 202 with the running job, whose Location shows progress. Prefer: respond-async answers 202 at once; Prefer: wait=N waits at most N seconds.',
      tags: ['import/export'],
      query: z.strictObject({ ...Entity, ...FormatQuery, atomic: z.enum(['true', 'false']).default('false') }),
      rawBody: {
        contentTypes: [...TRANSFER_MEDIA_TYPES.csv, ...TRANSFER_MEDIA_TYPES.jsonl],
        description: 'The file: a CSV with a header line, or one JSON object per line',
      },
      responses: {
        201: { description: 'The finished job', schema: ImportJobSchema },
        202: { description: 'The running job', schema: ImportJobSchema },
      },
      errors: [413, 415, 422],
      access: 'user',
      permission,
    },
    async (req, res) => {
      const actor = tenantUserOf(req);
      const { format } = req.query;
      const atomic = req.query.atomic === 'true';
      if (!req.is([...TRANSFER_MEDIA_TYPES[format]])) {
        throw new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, `A ${format} import is sent as ${TRANSFER_MEDIA_TYPES[format].join(' or ')}`);
      }
      const maxBytes = deps.config.imports.maxBytes;
      if (Number(req.get('content-length') ?? 0) > maxBytes) {
        throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 413, `Import files are limited to ${maxBytes} bytes`);
      }
      const options: ImportOptions = { entity, format, atomic, maxBytes, fromCsv: transfer.fromCsv };
      const { job, done } = await runner.start(actor, req as unknown as Readable, options, transfer.writer(actor, atomic));
      res.location(jobPath(job.id));

      const prefer = parsePrefer(req.get('prefer'));
      const waitMs = prefer.respondAsync ? 0 : Math.min(prefer.waitSeconds === undefined ? Infinity : prefer.waitSeconds * 1_000, deps.config.imports.waitMs);
      const finished = waitMs > 0 ? await within(done, waitMs) : undefined;
      if (!finished) {
        if (prefer.respondAsync) res.set('Preference-Applied', 'respond-async');
        const current = await deps.tenants.withConnection(actor.tenantId, (db) => findImportJob(db, entity, job.id));
        res.status(202).json(current ?? job);
        return;
      }
      if (finished.status === 'failed') {
        throw new AppError(ErrorCode.IMPORT_REJECTED, 422, finished.failure ?? 'The import failed', {
          jobId: finished.id,
          rowsFailed: finished.rowsFailed,
          errors: finished.errors,
        });
      }
      res.status(201).json(finished);
    },
  );

  api.get(
    '/import',
    {
      operationId: `list${operationStem}Imports`,
      summary: `Recent ${entity} import jobs, newest first, without their row errors`,
      description: 'Finds imports that are still running, or whose answer was lost.',
      tags: ['import/export'],
      query: z.strictObject({ ...Entity, limit: z.coerce.number().int().min(1).max(100).default(20) }),
      responses: { 200: { description: 'The jobs', schema: z.object({ items: z.array(ImportJobSummarySchema) }) } },
      access: 'user',
      permission,
    },
    async (req, res) => {
      const actor = tenantUserOf(req);
      res.json({ items: await deps.tenants.withConnection(actor.tenantId, (db) => listImportJobs(db, entity, req.query.limit)) });
    },
  );
  api.get(
    '/import/:id',
    {
      operationId: `get${operationStem}Import`,
      summary: `A ${entity} import job: progress and per-row errors`,
      tags: ['import/export'],
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'The job', schema: ImportJobSchema } },
      access: 'user',
      permission,
    },
    async (req, res) => {
      const actor = tenantUserOf(req);
      const job = await deps.tenants.withConnection(actor.tenantId, (db) => findImportJob(db, entity, req.params.id));
      if (!job) throw new NotFoundError('Import job not found', ErrorCode.IMPORT_NOT_FOUND);
      res.json(job);
    },
  );
  api.get(
    '/export',
    {
      operationId: `export${operationStem}`,
      summary: `Every live record of ${entity}, streamed as CSV or JSON lines (the import format)`,
      tags: ['import/export'],
      query: z.strictObject({ ...Entity, format: FormatQuery.format.default('csv') }),
      responses: {
        200: { description: 'The file', content: { 'text/csv': z.string(), 'application/x-ndjson': z.string() } },
      },
      access: 'user',
      permission,
    },
    async (req, res) => {
      const actor = tenantUserOf(req);
      const { format } = req.query;
      res.set({
        'Content-Type': `${TRANSFER_MEDIA_TYPES[format][0]}; charset=utf-8`,
        'Content-Disposition': `attachment; filename="${entity}.${format}"`,
        'Cache-Control': 'no-store',
      });
      await transfer.exporter(actor, format, res);
    },
  );
  return api.router;
}
