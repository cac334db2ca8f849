import { actorIdentity, ClientLookupAnswer, type Actor, type ClientKeys, type ClientLookup, type ServiceClient } from '@codex/shared';

export { assertClientExists } from '@codex/shared';

/** Live clients of the actor's tenant by any of these keys, in one call. */
export async function lookupClients(client: ServiceClient, actor: Actor, lookup: ClientLookup): Promise<ClientKeys[]> {
  const { data } = await client.request({
    method: 'POST',
    path: '/internal/clients/lookup',
    body: lookup,
    identity: actorIdentity(actor),
    answer: ClientLookupAnswer,
  });
  return data.items;
}
