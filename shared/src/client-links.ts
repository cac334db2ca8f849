import type { Actor } from './auth/record-rules';
import { ClientKeys } from './contracts';
import { AppError, ValidationError } from './errors';
import type { ServiceClients } from './service-client';

/**
 * Records of other services (contacts, deals, subscriptions) link to clients, which the client service owns: asked
 * over REST (service JWT, timeout, breaker), answers checked against the
 * shared contract. While it is down, writes that need the check fail fast
 * with 503 UPSTREAM_UNAVAILABLE.
 */
/** The identity a service call carries for an actor. */
export const actorIdentity = (actor: Actor) => ({ tenantId: actor.tenantId, userId: actor.userId, roles: actor.roles });

/** A record may link only to a live client of the same tenant; else 400 naming `field`. */
export async function assertClientExists(clients: ServiceClients, actor: Actor, clientId: string | null | undefined, field = 'clientId'): Promise<void> {
  if (!clientId) return;
  try {
    await clients.get('client').request({ path: `/internal/clients/${clientId}`, identity: actorIdentity(actor), answer: ClientKeys });
  } catch (err) {
    if (err instanceof AppError && err.status === 404)
      throw new ValidationError('Linked record does not exist', [{ path: `body.${field}`, message: 'no such client' }]);
    throw err;
  }
}
