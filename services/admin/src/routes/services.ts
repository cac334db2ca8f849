import { ApiRouter, Instant, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { z } from 'zod';
import { serviceHistory, serviceOverview } from '../domain/service-registry';
import { recentTraffic } from '../domain/traffic';

const DAY_MS = 24 * 60 * 60_000;
const Status = z.enum(['unknown', 'up', 'degraded', 'down']);
const ServiceSchema = z
  .object({
    name: z.string(),
    url: z.string(),
    status: Status,
    statusSince: z.iso.datetime().nullable().describe('When the service entered its current status'),
    lastCheckedAt: z.iso.datetime().nullable(),
    latencyMs: z.number().int().nullable(),
    details: z.record(z.string(), z.unknown()).describe('The last poll: HTTP status, error, dependencies it runs without'),
    breaker: z.enum(['closed', 'half-open', 'open']).nullable().describe("The admin service's circuit breaker towards it"),
    uptime24hPercent: z.number(),
  })
  .meta({ id: 'ServiceStatus' });
const IncidentSchema = z.object({
  status: z.enum(['down', 'degraded']),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime().nullable().describe('Null while it lasts'),
  durationMs: z.number().int().describe('Within the asked range'),
});
const HistoryQuery = z
  .strictObject({
    from: Instant.optional().describe('Default: 24 hours before `to`'),
    to: Instant.optional().describe('Default: now'),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, { path: ['to'], message: 'must be after from' })
  .refine((query) => !query.from || !query.to || query.to.getTime() - query.from.getTime() <= 366 * DAY_MS, {
    path: ['from'],
    message: 'the range is at most 366 days',
  });

/** `/api/v1/admin/services…`: the service registry for the console's dashboard. */
export function serviceRoutes(deps: ServiceDeps<'admin'>, openapi: OpenApiRegistry) {
  const api = new ApiRouter(openapi, '/api/v1/admin');
  const reads = { access: 'admin', permission: 'system:read' } as const;

  api.get(
    '/services',
    {
      operationId: 'listServices',
      summary: 'Every service as last polled: status and since when, latency, breaker, uptime over 24 hours',
      tags: ['services'],
      responses: { 200: { description: 'Services', schema: z.object({ items: z.array(ServiceSchema) }) } },
      ...reads,
    },
    async (_req, res) => {
      res.json({ items: await serviceOverview(deps.db, deps.clients.breakerStates()) });
    },
  );

  api.get(
    '/services/:name/history',
    {
      operationId: 'getServiceHistory',
      summary: "A service's uptime and incidents (down or degraded intervals) over a time range",
      tags: ['services'],
      params: z.object({ name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'is not a service name') }),
      query: HistoryQuery,
      responses: {
        200: {
          description: 'Uptime and incidents',
          schema: z.object({
            service: z.string(),
            from: z.iso.datetime(),
            to: z.iso.datetime(),
            uptimePercent: z.number().describe('Share of the range not inside a down incident (degraded still serves)'),
            degradedPercent: z.number(),
            incidents: z.array(IncidentSchema),
          }),
        },
      },
      errors: [404],
      ...reads,
    },
    async (req, res) => {
      const to = req.query.to ?? new Date();
      const from = req.query.from ?? new Date(to.getTime() - DAY_MS);
      res.json(await serviceHistory(deps.db, req.params.name, from, to));
    },
  );

  const TrafficMinute = z
    .object({
      minute: z.iso.datetime().describe('Start of the minute (UTC)'),
      requests: z.number().int(),
      clientErrors: z.number().int().describe('4xx answers'),
      serverErrors: z.number().int().describe('5xx answers'),
    })
    .meta({ id: 'TrafficMinute' });
  api.get(
    '/traffic',
    {
      operationId: 'getTraffic',
      summary: 'Requests through every gateway per minute, with 4xx and 5xx counts (each gateway adds its counts every 5 s)',
      tags: ['services'],
      query: z.strictObject({ minutes: z.coerce.number().int().min(1).max(1_440).default(60).describe('Whole minutes before the current one') }),
      responses: {
        200: {
          description: 'Traffic',
          schema: z.object({
            from: z.iso.datetime(),
            to: z.iso.datetime().describe('Start of the current minute: the end of the whole minutes'),
            lastMinuteRequests: z.number().int().describe('Requests in the last whole minute'),
            requests: z.number().int().describe('Requests over the whole minutes'),
            serverErrorPercent: z.number().describe('Share of 5xx answers over the whole minutes'),
            clientErrorPercent: z.number().describe('Share of 4xx answers over the whole minutes'),
            items: z.array(TrafficMinute),
            current: TrafficMinute.describe('The minute under way, still counting'),
            services: z
              .array(
                z.object({
                  service: z.string(),
                  requests: z.number().int(),
                  clientErrors: z.number().int(),
                  serverErrors: z.number().int(),
                  serverErrorPercent: z.number(),
                }),
              )
              .describe('Per backend service over the whole minutes (those with requests)'),
          }),
        },
      },
      ...reads,
    },
    async (req, res) => {
      res.json(await recentTraffic(deps.db, req.query.minutes));
    },
  );

  return api.router;
}
