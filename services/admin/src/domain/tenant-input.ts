import { z } from 'zod';

/** A tenant's life: provisioning → active ⇄ suspended; deleting → deleted; failed when provisioning gave up. */
export const TENANT_STATUSES = ['provisioning', 'active', 'suspended', 'deleting', 'deleted', 'failed'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** Names that would confuse routing, hosts or operators. */
const RESERVED_SLUGS = new Set(['admin', 'api', 'app', 'auth', 'codex', 'console', 'internal', 'postgres', 'root', 'system', 'template', 'www']);

export const Slug = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/, 'must be 3-63 characters: lower-case letters, digits and hyphens, starting with a letter')
  .refine((slug) => !slug.includes('--'), 'must not contain consecutive hyphens')
  .refine((slug) => !RESERVED_SLUGS.has(slug), 'is reserved');

/** A new tenant, as the API and the operator's CLI take it. */
export const CreateTenant = z.strictObject({
  name: z.string().trim().min(1).max(200),
  slug: Slug,
  plan: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,39}$/)
    .optional()
    .describe("The plan's code; the platform configuration's defaultPlan when left out"),
});

/** Another API key for a tenant. */
export const CreateKey = z.strictObject({ name: z.string().trim().min(1).max(100).default('default') });
const DAY_SECONDS = 86_400;
export const RotateKey = z.strictObject({
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * DAY_SECONDS)
    .default(DAY_SECONDS)
    .describe('How long the old key keeps working (default 24 h, at most 30 days; 0 ends it now)'),
  name: z.string().trim().min(1).max(100).optional().describe("The new key's name; the old key's when not given"),
});
