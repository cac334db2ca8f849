import {
  BACKEND_SERVICES,
  closeServiceDeps,
  createLogger,
  createServiceDeps,
  loadConfig,
  type BackendServiceName,
  type Operation,
  type ServiceDeps,
} from '@codex/shared';
import type { Express } from 'express';
import { combineDocuments } from '@codex/gateway';
import { createApp as admin } from '@codex/admin';
import { createApp as auth } from '@codex/auth';
import { createApp as billing } from '@codex/billing';
import { createApp as client } from '@codex/client';
import { createApp as crm } from '@codex/crm';
import { createApp as subscription } from '@codex/subscription';

const APPS: { [S in BackendServiceName]: (deps: ServiceDeps<S>) => Express } = { auth, billing, subscription, crm, client, admin };

/** A service's app for its own deps (TypeScript cannot relate APPS[S] to S by itself). */
export const appOf = <S extends BackendServiceName>(service: S) => APPS[service] as (deps: ServiceDeps<S>) => Express;

export interface ServiceSurface {
  service: BackendServiceName;
  operations: Operation[];
  document: Record<string, unknown>;
}

/**
 * Every backend service's route specs, read from apps built in process (no
 * database is touched: pools connect on first use and none is used).
 */
export async function readApiSurface(): Promise<ServiceSurface[]> {
  const surfaces: ServiceSurface[] = [];
  for (const service of BACKEND_SERVICES) {
    // No spare databases: nothing here may touch a database.
    const config = loadConfig(service, { NODE_ENV: 'test', DATABASE_URL: 'postgres://nobody@127.0.0.1:9/unused', PROVISIONING_SPARES: '0' });
    const deps = createServiceDeps(config, createLogger(service, { silent: true }));
    try {
      const registry = appOf(service)(deps).locals.openapi!;
      surfaces.push({ service, operations: [...registry.operations], document: registry.document() });
    } finally {
      await closeServiceDeps(deps);
    }
  }
  return surfaces;
}

/** The public API as one document, exactly as the gateway combines it. */
export function combinedDocument(surfaces: ServiceSurface[]): Record<string, unknown> {
  return combineDocuments(Object.fromEntries(surfaces.map((s) => [s.service, s.document])));
}
