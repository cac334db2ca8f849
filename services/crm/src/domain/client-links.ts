import { AppError, ValidationError, type Actor, type ServiceClients } from '@codex/shared';

/**
 * A record may link only to a live client of the same tenant. Asked of the
 * client service over REST (service JWT, timeout, breaker): while it is down,
 * writes that need the check fail fast with 503 UPSTREAM_UNAVAILABLE.
 */
export async function assertClientExists(clients: ServiceClients, actor: Actor, clientId: string | null | undefined, field = 'clientId'): Promise<void> {
  if (!clientId) return;
  try {
    await clients.get('client').request({ path: `/internal/clients/${clientId}`, identity: { tenantId: actor.tenantId, userId: actor.userId, roles: actor.roles } });
  } catch (err) {
    if (err instanceof AppError && err.status === 404) throw new ValidationError('Linked record does not exist', [{ path: `body.${field}`, message: 'no such client' }]);
    throw err;
  }
}
