import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';

/** The crm service: contacts, deals, pipelines and activities. */
export function createApp(deps: ServiceDeps): Express {
  return createStandardServiceApp('crm', deps);
}
