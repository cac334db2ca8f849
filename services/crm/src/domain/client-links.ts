import {
  AppError,
  ClientKeys,
  ClientLookupAnswer,
  ValidationError,
  type Actor,
  type ClientLookup,
  type ServiceClient,
  type ServiceClients,
} from '@codex/shared';

/**
 * Contacts and deals link to clients, which the client service owns: asked
 * over REST (service JWT, timeout, breaker), answers checked against the
 * shared contract. While it is down, writes that need the check fail fast
 * with 503 UPSTREAM_UNAVAILABLE.
 */
const identityOf = (actor: Actor) => ({ tenantId: actor.tenantId, userId: actor.userId, roles: actor.roles });

/** A record may link only to a live client of the same tenant; else 400 naming `field`. */
export async function assertClientExists(clients: ServiceClients, actor: Actor, clientId: string | null | undefined, field = 'clientId'): Promise<void> {
  if (!clientId) return;
  try {
    await clients.get('client').request({ path: `/internal/clients/${clientId}`, identity: identityOf(actor), answer: ClientKeys });
  } catch (err) {
    if (err instanceof AppError && err.status === 404)
      throw new ValidationError('Linked record does not exist', [{ path: `body.${field}`, message: 'no such client' }]);
    throw err;
  }
}

/** Live clients of the actor's tenant by any of these keys, in one call. */
export async function lookupClients(client: ServiceClient, actor: Actor, lookup: ClientLookup): Promise<ClientKeys[]> {
  const { data } = await client.request({
    method: 'POST',
    path: '/internal/clients/lookup',
    body: lookup,
    identity: identityOf(actor),
    answer: ClientLookupAnswer,
  });
  return data.items;
}
