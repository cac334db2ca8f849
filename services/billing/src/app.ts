import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';

/** The billing service: usage tracking, invoices and payments. */
export function createApp(deps: ServiceDeps<'billing'>): Express {
  return createStandardServiceApp('billing', deps);
}
