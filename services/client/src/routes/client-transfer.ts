import { entityTransferRoutes, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { exportClients } from '../domain/client-export';
import { clientWriter } from '../domain/client-import';
import { fromCsvRecord } from '../domain/client-records';

/** `POST/GET /api/v1/client/import`, `GET /import/:id`, `GET /export`: clients through the shared import kit. */
export function clientTransferRoutes(deps: ServiceDeps<'client'>, openapi: OpenApiRegistry) {
  return entityTransferRoutes(deps, openapi, {
    entity: 'clients',
    mountPath: '/api/v1/client',
    operationStem: 'Clients',
    description:
      'Clients upsert by externalId, else email, so a re-run changes nothing. In CSV, tags are joined with ";" and each custom field is a cf.<name> column. ' +
      'Contacts are imported at /api/v1/crm/import.',
    fromCsv: fromCsvRecord,
    writer: (actor, atomic) => clientWriter(deps.tenants, actor, atomic),
    exporter: (actor, format, out) => exportClients(deps.tenants, actor, format, out),
  });
}
