import { z } from 'zod';

/**
 * Shapes that cross a service boundary over REST, defined once: the callee
 * validates its answer's type against them, the caller checks what it gets
 * (ServiceClient's `answer`), so the two cannot drift apart.
 */

/** The most references one client lookup may carry (a contact import sends one batch's worth). */
export const MAX_CLIENT_LOOKUP = 1_000;

/** A live client as other services refer to it. */
export const ClientKeys = z.object({ id: z.uuid(), externalId: z.string().nullable(), email: z.string().nullable() });
export type ClientKeys = z.infer<typeof ClientKeys>;

/** `POST /internal/clients/lookup` (client service): live clients by any of these keys, in one call. */
export const ClientLookup = z.strictObject({
  externalIds: z.array(z.string().min(1).max(200)).max(MAX_CLIENT_LOOKUP).default([]),
  /** Matched case-insensitively. */
  emails: z.array(z.string().min(1).max(254)).max(MAX_CLIENT_LOOKUP).default([]),
  ids: z.array(z.uuid()).max(MAX_CLIENT_LOOKUP).default([]),
});
export type ClientLookup = z.input<typeof ClientLookup>;
export const ClientLookupAnswer = z.object({ items: z.array(ClientKeys) });

/** The most usage events one report to the billing service may carry (a gateway batch, a tenant's batch). */
export const MAX_USAGE_EVENTS_PER_REPORT = 2_000;

/** The event the gateway makes for each proxied request of a tenant (billable metrics count and sum its properties). */
export const API_REQUEST_EVENT = 'api_request';

/** One metered event as the gateway reports it to billing (`POST /internal/usage/events`). */
export const UsageEventRecord = z.strictObject({
  /** Made with the event and kept through every retry and replay: billing stores each id once. */
  id: z.uuid(),
  tenantId: z.uuid(),
  occurredAt: z.iso.datetime({ offset: true }),
  code: z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/),
  properties: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/), z.union([z.string().max(500), z.number(), z.boolean(), z.null()])),
});
export type UsageEventRecord = z.infer<typeof UsageEventRecord>;
export const UsageReport = z.strictObject({ events: z.array(UsageEventRecord).min(1).max(MAX_USAGE_EVENTS_PER_REPORT) });
export const UsageReportAnswer = z.object({ accepted: z.number().int(), duplicates: z.number().int(), rejected: z.number().int() });
export type UsageReportAnswer = z.infer<typeof UsageReportAnswer>;
