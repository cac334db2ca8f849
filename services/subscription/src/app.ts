import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';

/** The subscription service: plans, feature flags and tier enforcement. */
export function createApp(deps: ServiceDeps<'subscription'>): Express {
  return createStandardServiceApp('subscription', deps);
}
