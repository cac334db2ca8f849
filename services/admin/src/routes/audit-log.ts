import { ApiRouter, Instant, TRANSFER_MEDIA_TYPES, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { auditEntries, exportAuditLog, verifyAuditLog, type AuditCheckpoints } from '../domain/audit-log';

const FilterQuery = {
  actor: z.string().min(1).max(200).optional().describe('The acting admin, user or service id'),
  actorType: z.enum(['admin', 'user', 'service', 'system']).optional(),
  action: z.string().min(1).max(200).optional().describe('e.g. `tenant.suspended`'),
  tenantId: z.uuid().optional(),
  targetType: z.string().min(1).max(100).optional(),
  targetId: z.string().min(1).max(200).optional(),
  from: Instant.optional().describe('Entries at or after this time'),
  to: Instant.optional().describe('Entries before this time'),
};
const ListQuery = z
  .strictObject({
    ...FilterQuery,
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,17}$/, 'must be a nextCursor this route gave')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, { path: ['to'], message: 'must be after from' });
const ExportQuery = z.strictObject({ ...FilterQuery, format: z.enum(['csv', 'jsonl']).default('jsonl') });

const HexHash = z.string().regex(/^[0-9a-f]{64}$/);
const AuditEntrySchema = z
  .object({
    seq: z.number().int().describe('Position in the hash chain: 1, 2, 3… without gaps'),
    occurredAt: z.iso.datetime(),
    actorType: z.enum(['admin', 'user', 'service', 'system']),
    actorId: z.string().nullable(),
    tenantId: z.uuid().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    requestId: z.string().nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).describe('What changed: `before` and `after` where a record changed'),
    hash: HexHash.describe("SHA-256 over the previous entry's hash and this entry's canonical content"),
    prevHash: HexHash.nullable(),
  })
  .meta({ id: 'AuditEntry' });
// Inlined, not a named schema: OpenAPI 3.0 cannot say "this $ref or null" (the verification's `latest`).
const CheckpointSchema = z.object({ seq: z.number().int(), hash: HexHash, at: z.iso.datetime(), kid: z.string(), sig: z.string() });
const VerificationSchema = z
  .object({
    valid: z.boolean().describe('The chain is whole, agrees with every checkpoint, and every checkpoint is signed'),
    rows: z.number().int(),
    head: z.number().int().nullable().describe('The newest sequence number; null while the log is empty'),
    checkpoints: z.object({
      total: z.number().int(),
      verified: z.number().int(),
      invalid: z.number().int().describe('Lines in the checkpoint file whose signature does not hold'),
      latest: CheckpointSchema.nullable(),
    }),
    firstBreak: z
      .object({
        seq: z.number().int(),
        problem: z.enum(['changed', 'missing', 'link', 'truncated', 'rewritten']),
        detail: z.string(),
      })
      .nullable(),
  })
  .meta({ id: 'AuditVerification' });

/** `/api/v1/admin/audit-log…`: reading, verifying and exporting the hash-chained audit log. */
export function auditLogRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry, checkpoints: AuditCheckpoints) {
  const api = new ApiRouter(openapi, '/api/v1/admin');
  const reads = { access: 'admin', permission: 'audit:read' } as const;

  api.get(
    '/audit-log',
    {
      operationId: 'listAuditLog',
      summary: 'Audit entries, newest first, filtered by actor, action, tenant, target and time (cursor-paged)',
      tags: ['audit log'],
      query: ListQuery,
      responses: {
        200: {
          description: 'A page of entries',
          schema: z.object({
            items: z.array(AuditEntrySchema),
            nextCursor: z.string().nullable().describe('Pass as cursor for the next (older) page; null at the end'),
          }),
        },
      },
      ...reads,
    },
    async (req, res) => {
      const { cursor, limit, ...filter } = req.query;
      const items = await auditEntries(deps.db, filter, limit, cursor ? Number(cursor) : undefined);
      res.json({ items, nextCursor: items.length === limit ? String(items.at(-1)!.seq) : null });
    },
  );

  api.get(
    '/audit-log/verify',
    {
      operationId: 'verifyAuditLog',
      summary: 'Check the whole hash chain and hold it against the signed checkpoints; names the first broken entry',
      tags: ['audit log'],
      responses: { 200: { description: 'The verdict (200 whether or not the chain holds)', schema: VerificationSchema } },
      ...reads,
    },
    async (_req, res) => {
      res.json(await verifyAuditLog(deps.db, checkpoints));
    },
  );

  api.post(
    '/audit-log/checkpoints',
    {
      operationId: 'writeAuditCheckpoint',
      summary: "Sign and store a checkpoint of the chain's head now (they are also written on a schedule)",
      tags: ['audit log'],
      responses: {
        201: { description: 'Written', schema: CheckpointSchema },
        204: { description: 'The log is empty: nothing to checkpoint' },
      },
      access: 'admin',
      permission: 'system:manage',
    },
    async (_req, res) => {
      const checkpoint = await checkpoints.write(deps.db);
      if (checkpoint) res.status(201).json(checkpoint);
      else res.status(204).end();
    },
  );

  api.get(
    '/audit-log/export',
    {
      operationId: 'exportAuditLog',
      summary: 'Every entry matching the filter, oldest first, as JSON lines or CSV (streamed; hashes included)',
      tags: ['audit log'],
      query: ExportQuery,
      responses: { 200: { description: 'The file', content: { 'text/csv': z.string(), 'application/x-ndjson': z.string() } } },
      ...reads,
    },
    async (req, res) => {
      const { format, ...filter } = req.query;
      res.set({
        'Content-Type': `${TRANSFER_MEDIA_TYPES[format][0]}; charset=utf-8`,
        'Content-Disposition': `attachment; filename="audit-log.${format}"`,
        'Cache-Control': 'no-store',
      });
      await exportAuditLog(deps.db, filter, format, res);
    },
  );

  return api.router;
}
