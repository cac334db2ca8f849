import { entityTransferRoutes, type OpenApiRegistry, type ServiceDeps } from '@codex/shared';
import { contactWriter, exportContacts } from '../domain/contact-transfer';

/** `POST/GET /api/v1/crm/import`, `GET /import/:id`, `GET /export`: contacts through the shared import kit. */
export function contactTransferRoutes(deps: ServiceDeps<'crm'>, openapi: OpenApiRegistry) {
  const clientService = deps.clients.get('client');
  return entityTransferRoutes(deps, openapi, {
    entity: 'contacts',
    mountPath: '/api/v1/crm',
    operationStem: 'Contacts',
    description:
      'Contacts upsert by externalId, else email (both unique among live contacts), so a re-run changes nothing. Columns: externalId, firstName, lastName, ' +
      'email, phone, title, ownerId, and the client as clientExternalId, clientEmail or clientId (the first given is used; an export names all three).',
    writer: (actor, atomic) => contactWriter(deps.tenants, clientService, actor, atomic),
    exporter: (actor, format, out) => exportContacts(deps.tenants, clientService, actor, format, out),
  });
}
