import { createServiceTokenSigner, type Identity, type ServiceDeps, type ServiceName } from '@codex/shared';

/**
 * The `Authorization` header the gateway (or `caller`) sends `service` when it
 * relays a request for `identity`: how tests call a service directly.
 */
export function serviceAuth(
  deps: Pick<ServiceDeps, 'config'>,
  service: ServiceName,
  identity?: Omit<Identity, 'caller'>,
  caller: ServiceName = 'gateway',
): string {
  return `Bearer ${createServiceTokenSigner(caller, deps.config.serviceJwtSecret).sign(service, identity)}`;
}
