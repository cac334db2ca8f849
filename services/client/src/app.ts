import { createStandardServiceApp, type ServiceDeps } from '@codex/shared';
import type { Express } from 'express';

/** The client service: clients, profiles, content, import and export. */
export function createApp(deps: ServiceDeps): Express {
  return createStandardServiceApp('client', deps);
}
