import { AmountMinor, BILLING_INTERVALS, Currency } from '@codex/shared';
import { z } from 'zod';

const PlanCode = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be 1-40 characters: lower-case letters, digits, _ and -, starting with a letter');
const FeatureKey = z.string().regex(/^[a-z][a-z0-9_.-]{0,99}$/, 'must be lower-case letters, digits, _ . and -, starting with a letter');
const limit = (max: number) => z.number().int().positive().max(max).nullable();

export const Limits = z
  .strictObject({
    requestsPerMinute: limit(10_000_000).describe("Requests per minute per API key; null: the platform's RATE_LIMIT_PER_KEY"),
    apiCallsPerMonth: limit(Number.MAX_SAFE_INTEGER).describe('API calls per billing period; null: unlimited'),
    maxUsers: z.number().int().min(0).max(100_000_000).nullable(),
    maxClients: z.number().int().min(0).max(1_000_000_000).nullable(),
    storageBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
  })
  .meta({ id: 'PlanLimits' });

export const Overage = z
  .strictObject({
    includedApiCalls: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('API calls per period the price includes'),
    unitAmountMinor: AmountMinor.describe('Price of each started block of calls beyond them, in minor units'),
    unitCalls: z.number().int().positive().max(1_000_000_000).describe('Calls per block'),
  })
  .nullable()
  // Described here, not where it is used: a description next to a reference is ignored by OpenAPI tools.
  .meta({ id: 'PlanOverage', description: 'Metered overage beyond the included calls (billed at period end); null: none' });

const Terms = {
  amountMinor: AmountMinor.describe('Price per interval in minor units (cents)'),
  currency: Currency,
  interval: z.enum(BILLING_INTERVALS as ['month', 'year']),
  trialDays: z.number().int().min(0).max(365),
  limits: Limits,
  overage: Overage,
  features: z
    .array(FeatureKey)
    .max(200)
    .refine((keys) => new Set(keys).size === keys.length, 'must not repeat a key'),
};

export const CreatePlan = z.strictObject({
  code: PlanCode,
  name: z.string().trim().min(1).max(200),
  public: z.boolean().default(true),
  ...Terms,
  trialDays: Terms.trialDays.default(0),
  overage: Terms.overage.default(null),
  features: Terms.features.default([]),
});

export const UpdatePlan = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    public: z.boolean().optional(),
    archived: z.boolean().optional(),
    amountMinor: Terms.amountMinor.optional(),
    currency: Terms.currency.optional(),
    interval: Terms.interval.optional(),
    trialDays: Terms.trialDays.optional(),
    limits: Limits.partial().optional(),
    overage: Terms.overage.optional(),
    features: Terms.features.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');

export const PlanVersionSchema = z
  .object({
    code: z.string(),
    version: z.number().int(),
    amountMinor: z.number().int(),
    currency: z.string(),
    interval: z.enum(['month', 'year']),
    trialDays: z.number().int(),
    limits: Limits,
    overage: Overage,
    features: z.array(z.string()),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'PlanVersion' });

export const PlanSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    public: z.boolean(),
    archivedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    latest: PlanVersionSchema,
  })
  .meta({ id: 'Plan' });

export const PlanCodeParams = z.object({ code: PlanCode });

export const ChangeTenantPlan = z.strictObject({
  plan: PlanCode,
  version: z.number().int().positive().optional().describe('A version of the plan; the latest when left out'),
  force: z.boolean().default(false).describe('Apply even when the tenant holds more than the plan allows'),
});

export const PlanChangeSchema = z
  .object({
    kind: z.enum(['upgrade', 'downgrade', 'migrate']),
    effectiveAt: z.iso.datetime(),
    prorationMinor: z.number().int().describe('Owed for the rest of the period (negative: a credit), in minor units'),
    currency: z.string(),
  })
  .meta({ id: 'PlanChange' });

export const EntitlementsSchema = z
  .object({
    tenantId: z.uuid(),
    status: z.string(),
    plan: z.object({
      code: z.string(),
      name: z.string(),
      version: z.number().int(),
      amountMinor: z.number().int(),
      currency: z.string(),
      interval: z.enum(['month', 'year']),
    }),
    period: z.object({ start: z.iso.datetime(), end: z.iso.datetime() }),
    limits: Limits,
    usage: z.object({ apiCalls: z.number().int(), users: z.number().int(), clients: z.number().int(), storageBytes: z.number().int() }),
    features: z.array(z.string()),
    pendingChange: z.object({ plan: z.string(), version: z.number().int(), effectiveAt: z.iso.datetime() }).nullable(),
  })
  .meta({ id: 'Entitlements' });

const Variant = z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,50}$/), weight: z.number().min(0).max(100) });
const Variants = z
  .array(Variant)
  .max(20)
  .refine((variants) => variants.length === 0 || Math.abs(variants.reduce((sum, v) => sum + v.weight, 0) - 100) < 1e-9, 'weights must sum to 100')
  .refine((variants) => new Set(variants.map((v) => v.name)).size === variants.length, 'variant names must differ');
const Rollout = z.strictObject({
  percentage: z.number().min(0).max(100).multipleOf(0.01),
  stickiness: z.enum(['tenant', 'user']).default('tenant'),
});

const FlagFields = {
  description: z.string().max(1000),
  enabled: z.boolean().describe('The kill switch: false turns the flag off for everyone'),
  defaultValue: z.boolean(),
  planValues: z.record(PlanCode, z.boolean()),
  tenantOverrides: z.record(z.uuid(), z.boolean()),
  rollout: Rollout.nullable(),
  variants: Variants,
};

export const FlagKey = FeatureKey;
export const FlagKeyParams = z.object({ key: FlagKey });

export const CreateFlag = z.strictObject({
  key: FlagKey,
  description: FlagFields.description.default(''),
  enabled: FlagFields.enabled.default(true),
  defaultValue: FlagFields.defaultValue.default(false),
  planValues: FlagFields.planValues.default({}),
  tenantOverrides: FlagFields.tenantOverrides.default({}),
  rollout: FlagFields.rollout.default(null),
  variants: FlagFields.variants.default([]),
});

export const UpdateFlag = z
  .strictObject(
    Object.fromEntries(Object.entries(FlagFields).map(([key, schema]) => [key, schema.optional()])) as {
      [K in keyof typeof FlagFields]: z.ZodOptional<(typeof FlagFields)[K]>;
    },
  )
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');

export const FlagSchema = z
  .object({
    key: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    defaultValue: z.boolean(),
    planValues: z.record(z.string(), z.boolean()),
    tenantOverrides: z.record(z.string(), z.boolean()),
    rollout: z.object({ percentage: z.number(), stickiness: z.enum(['tenant', 'user']) }).nullable(),
    variants: z.array(z.object({ name: z.string(), weight: z.number() })),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'FeatureFlag' });

export const FlagValuesSchema = z
  .object({ flags: z.record(z.string(), z.object({ enabled: z.boolean(), variant: z.string().optional() })) })
  .meta({ id: 'FlagValues' });
