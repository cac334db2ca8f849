import { createHash } from 'node:crypto';

/** Rollout buckets: 10,000 of them, so a percentage may have two decimals. */
const BUCKETS = 10_000;

/**
 * A stable bucket in [0, 10000) for an id within a flag: the same on every
 * evaluation and instance, independent between flags (the flag's key salts the
 * hash, so one tenant is not first in line for every rollout).
 */
export function rolloutBucket(flagKey: string, id: string, salt = ''): number {
  return createHash('sha256').update(`${salt}${flagKey}:${id}`).digest().readUInt32BE(0) % BUCKETS;
}

/**
 * Whether `id` is inside a rollout of `percentage` (0–100). Monotone: an id
 * inside at 30 % is inside at 40 %, because the bucket never changes and only
 * the threshold moves.
 */
export function inRollout(flagKey: string, id: string, percentage: number): boolean {
  return rolloutBucket(flagKey, id) < Math.round(percentage * (BUCKETS / 100));
}

export interface Variant {
  name: string;
  /** Share in percent; the weights of one flag sum to 100. */
  weight: number;
}

/** The variant an id gets, stable per flag and id, in proportion to the weights. */
export function pickVariant(flagKey: string, id: string, variants: readonly Variant[]): string | undefined {
  if (variants.length === 0) return undefined;
  const bucket = rolloutBucket(flagKey, id, 'variant:');
  let upper = 0;
  for (const variant of variants) {
    upper += Math.round(variant.weight * (BUCKETS / 100));
    if (bucket < upper) return variant.name;
  }
  return variants[variants.length - 1]!.name;
}
