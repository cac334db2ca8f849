import { ErrorCode, NotFoundError, type ClientKeys, type ClientLookup, type TenantPoolCache } from '@codex/shared';
import { findClientKeys } from '../db/client-transfer-repo';

/**
 * Live clients of a tenant by external id, email (any case) or id: how other
 * services (the CRM linking contacts and deals) find the clients they refer to.
 */
export function lookupClients(tenants: TenantPoolCache, tenantId: string, lookup: Required<ClientLookup>): Promise<ClientKeys[]> {
  const emails = lookup.emails.map((email) => email.toLowerCase());
  return tenants.withConnection(tenantId, (db) => findClientKeys(db, { externalIds: lookup.externalIds, emails, ids: lookup.ids }));
}

/** One live client by id, or 404 CLIENT_NOT_FOUND. */
export async function linkableClient(tenants: TenantPoolCache, tenantId: string, id: string): Promise<ClientKeys> {
  const [client] = await lookupClients(tenants, tenantId, { externalIds: [], emails: [], ids: [id] });
  if (!client) throw new NotFoundError('Client not found', ErrorCode.CLIENT_NOT_FOUND);
  return client;
}
