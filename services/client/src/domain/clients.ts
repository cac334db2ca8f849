import {
  ErrorCode,
  AppError,
  assertMayAssign,
  assertWithinLimit,
  changeableRecord,
  NotFoundError,
  type Actor,
  type Entitlements,
  type TenantPoolCache,
  uniqueConflict,
} from '@codex/shared';
import { findClient, insertClient, listClients, setClientDeleted, updateClient, type Client, type ClientInput, type ClientQuery } from '../db/clients-repo';

const NOT_FOUND = () => new NotFoundError('Client not found', ErrorCode.CLIENT_NOT_FOUND);

/** A live client's email and external id are unique; a clash is 409 naming the field. */
function uniqueClash(err: unknown): never {
  throw uniqueConflict(err, 'client', ErrorCode.CLIENT_EXISTS, { clients_email_key: 'email', clients_external_id_key: 'externalId' });
}

/** A new client, within the tenant's plan (403 PLAN_LIMIT_REACHED at its maximum, exact under concurrent creates). */
export async function createClient(tenants: TenantPoolCache, entitlements: Entitlements, actor: Actor, input: ClientInput): Promise<Client> {
  assertMayAssign(actor, input.ownerId);
  return tenants.transaction(actor.tenantId, async (tx) => {
    await assertWithinLimit(tx, entitlements, actor.tenantId, 'clients');
    return insertClient(tx, { ...input, ownerId: input.ownerId ?? actor.userId, createdBy: actor.userId }).catch(uniqueClash);
  });
}

export async function getClient(tenants: TenantPoolCache, actor: Actor, id: string): Promise<Client> {
  const client = await tenants.withConnection(actor.tenantId, (db) => findClient(db, id));
  if (!client) throw NOT_FOUND();
  return client;
}

export function searchClients(tenants: TenantPoolCache, actor: Actor, query: ClientQuery) {
  return tenants.withConnection(actor.tenantId, (db) => listClients(db, query));
}

/** Applies changes only if the caller read the current version, so no update is silently lost. */
export async function changeClient(
  tenants: TenantPoolCache,
  actor: Actor,
  id: string,
  expectedVersion: number,
  changes: Partial<ClientInput>,
): Promise<Client> {
  return tenants.transaction(actor.tenantId, async (tx) => {
    changeableRecord(actor, await findClient(tx, id, { forUpdate: true }), NOT_FOUND, expectedVersion);
    assertMayAssign(actor, changes.ownerId);
    return updateClient(tx, id, changes).catch(uniqueClash);
  });
}

/** Soft delete (restorable); with a version, only if it is still current. */
export async function deleteClient(tenants: TenantPoolCache, actor: Actor, id: string, expectedVersion?: number): Promise<void> {
  await tenants.transaction(actor.tenantId, async (tx) => {
    changeableRecord(actor, await findClient(tx, id, { forUpdate: true }), NOT_FOUND, expectedVersion);
    await setClientDeleted(tx, id, true);
  });
}

export async function restoreClient(tenants: TenantPoolCache, actor: Actor, id: string): Promise<Client> {
  return tenants.transaction(actor.tenantId, async (tx) => {
    const client = changeableRecord(actor, await findClient(tx, id, { includeDeleted: true, forUpdate: true }), NOT_FOUND);
    if (!client.deletedAt) throw new AppError(ErrorCode.CLIENT_NOT_DELETED, 409, 'The client is not deleted');
    return setClientDeleted(tx, id, false).catch(uniqueClash);
  });
}
