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
