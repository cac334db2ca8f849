import {
  ApiRouter,
  NotFoundError,
  ErrorCode,
  requireCaller,
  tenantOf,
  UsageReport,
  UsageReportAnswer,
  type OpenApiRegistry,
  type ServiceDeps,
} from '@codex/shared';
import { z } from 'zod';
import { createMetric, ingestGatewayEvents, ingestTenantEvents, metrics, platformUsage, tenantUsage } from '../domain/metering';

/** Events one tenant report may carry. */
const MAX_TENANT_EVENTS = 1_000;

const PropertyName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/);
const EventCode = z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, 'must be lower case: a-z, 0-9, _ . - (up to 63)');

const TenantEvent = z.strictObject({
  code: EventCode.describe('Which billable metrics count it: those whose eventCode is this'),
  transactionId: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 printable ASCII characters without spaces')
    .describe('Your id of the event: a report retried with the same id counts once'),
  timestamp: z.iso.datetime({ offset: true }).optional().describe('When it happened; now when omitted'),
  properties: z
    .record(PropertyName, z.union([z.string().max(500), z.number(), z.boolean(), z.null()]))
    .refine((value) => Object.keys(value).length <= 50, 'at most 50 properties')
    .default({}),
});

const ReportEvents = z.strictObject({ events: z.array(TenantEvent).min(1).max(MAX_TENANT_EVENTS) });

const Instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const UsageQuery = z.object({
  from: Instant.optional().describe('Start (rounded down to the hour); the start of the current plan period when omitted'),
  to: Instant.optional().describe('End, exclusive (rounded up to the hour); the end of the current plan period when omitted'),
  granularity: z.enum(['hour', 'day', 'total']).default('day').describe('Buckets of the series: UTC hours or days, or none'),
  metric: z.string().max(63).optional().describe('One metric only'),
});
const PlatformUsageQuery = z.object({
  from: Instant.describe('Start (rounded down to the hour)'),
  to: Instant.describe('End, exclusive (rounded up to the hour)'),
  tenantId: z.uuid().optional().describe('One tenant only'),
  metric: z.string().max(63).optional().describe('One metric only'),
});

const Aggregation = z.enum(['count', 'sum', 'max', 'unique_count']);
const UsageSeriesSchema = z.object({
  code: z.string(),
  name: z.string(),
  aggregation: Aggregation,
  total: z.number().describe('Over the whole range'),
  series: z.array(z.object({ start: z.string().describe('Bucket start (UTC)'), value: z.number() })),
});
const TenantUsageSchema = z.object({ from: z.string(), to: z.string(), metrics: z.array(UsageSeriesSchema) });
const PlatformUsageSchema = z.object({
  from: z.string(),
  to: z.string(),
  items: z.array(z.object({ tenantId: z.uuid(), metrics: z.record(z.string(), z.number()) })),
  totals: z.record(z.string(), z.number()).describe('Per metric over every tenant listed (the largest, for a maximum)'),
});

const MetricSchema = z.object({
  code: z.string(),
  name: z.string(),
  eventCode: z.string(),
  aggregation: Aggregation,
  field: z.string().nullable(),
  createdAt: z.string(),
});
const CreateMetric = z
  .strictObject({
    code: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower case: a-z, 0-9, _ (up to 63)'),
    name: z.string().trim().min(1).max(200),
    eventCode: EventCode,
    aggregation: Aggregation,
    field: PropertyName.optional().describe('The property summed, maximised or counted; none for a count'),
  })
  .refine((metric) => (metric.aggregation === 'count') === (metric.field === undefined), {
    path: ['field'],
    message: 'a count takes no field; sum, max and unique_count need one',
  });

const TenantIdParams = z.object({ id: z.uuid() });

/** Usage metering: the gateway's reports, a tenant's own events, and usage reads. */
export function usageRoutes(deps: ServiceDeps<'billing'>, openapi: OpenApiRegistry) {
  const retention = deps.config.billing.usageRetentionMonths;
  const internal = new ApiRouter(openapi, '/internal');
  internal.router.use(requireCaller('gateway'));
  internal.post(
    '/usage/events',
    {
      operationId: 'internalReportUsage',
      summary: 'Usage events of proxied requests, batched by the gateway; each event id is stored once',
      tags: ['internal'],
      body: UsageReport,
      responses: { 200: { description: 'Stored (accepted), already stored (duplicates), outside the kept window (rejected)', schema: UsageReportAnswer } },
      access: 'service',
    },
    async (req, res) => {
      res.json(await ingestGatewayEvents(deps.db, req.body.events, retention));
    },
  );

  const api = new ApiRouter(openapi, '/api/v1/billing');
  api.post(
    '/events',
    {
      operationId: 'reportUsageEvents',
      summary: "Report the tenant app's own billable events (idempotent on transactionId)",
      tags: ['usage'],
      body: ReportEvents,
      responses: { 200: { description: 'How many were new and how many had been reported before', schema: UsageReportAnswer } },
      errors: [422],
      access: 'apiKey',
    },
    async (req, res) => {
      res.json(await ingestTenantEvents(deps.db, tenantOf(req), req.body.events, retention));
    },
  );

  const usageOf = async (tenantId: string, query: z.output<typeof UsageQuery>) => {
    let { from, to } = query;
    if (!from || !to) {
      const plan = await deps.entitlements.of(tenantId);
      if (!plan) throw new NotFoundError('No such tenant', ErrorCode.TENANT_NOT_FOUND);
      from ??= plan.period.start;
      to ??= plan.period.end;
    }
    return tenantUsage(deps.db, tenantId, { from, to, granularity: query.granularity, metric: query.metric });
  };

  api.get(
    '/usage',
    {
      operationId: 'getUsage',
      summary: "The tenant's usage per metric, by hour or day, read from the aggregates",
      tags: ['usage'],
      query: UsageQuery,
      responses: { 200: { description: 'Every metric with its total and series', schema: TenantUsageSchema } },
      access: 'apiKey',
    },
    async (req, res) => {
      res.json(await usageOf(tenantOf(req), req.query));
    },
  );

  api.get(
    '/tenants/:id/usage',
    {
      operationId: 'getTenantUsage',
      summary: "A tenant's usage per metric, by hour or day",
      tags: ['usage'],
      params: TenantIdParams,
      query: UsageQuery,
      responses: { 200: { description: 'Every metric with its total and series', schema: TenantUsageSchema } },
      errors: [404],
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await usageOf(req.params.id, req.query));
    },
  );

  api.get(
    '/tenant-usage',
    {
      operationId: 'listTenantUsage',
      summary: "Every tenant's usage totals over a range, with the platform's totals",
      tags: ['usage'],
      query: PlatformUsageQuery,
      responses: { 200: { description: 'Per tenant that used anything, and totals', schema: PlatformUsageSchema } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (req, res) => {
      res.json(await platformUsage(deps.db, req.query));
    },
  );

  api.get(
    '/metrics',
    {
      operationId: 'listBillableMetrics',
      summary: 'Billable metrics: which events they count and how',
      tags: ['usage'],
      responses: { 200: { description: 'Every metric', schema: z.object({ items: z.array(MetricSchema) }) } },
      access: 'admin',
      permission: 'revenue:read',
    },
    async (_req, res) => {
      res.json({ items: await metrics(deps.db) });
    },
  );

  api.post(
    '/metrics',
    {
      operationId: 'createBillableMetric',
      summary: 'A new billable metric; it counts events stored from now on',
      tags: ['usage'],
      body: CreateMetric,
      responses: { 201: { description: 'Created', schema: MetricSchema } },
      errors: [409],
      access: 'admin',
      permission: 'revenue:manage',
    },
    async (req, res) => {
      const metric = await createMetric(deps.db, { ...req.body, field: req.body.field ?? null });
      res.status(201).location(`/api/v1/billing/metrics/${metric.code}`).json(metric);
    },
  );

  return { internal: internal.router, api: api.router };
}
