import { BlockList, isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { ForbiddenError } from '../errors';

/**
 * Operational endpoints (metrics, the health of every service) answer only
 * callers from `networks` (CIDR), seen as Express sees the client (so behind
 * nginx, the real client, per `TRUST_PROXY`). Anyone else gets 403.
 */
export function opsAccess(networks: string[]): RequestHandler {
  const allowed = new BlockList();
  for (const network of networks) {
    const [address, bits] = network.split('/') as [string, string];
    allowed.addSubnet(address, Number(bits), isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
  return (req, _res, next) => {
    const ip = (req.ip ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    const family = isIP(ip);
    if (family && allowed.check(ip, family === 6 ? 'ipv6' : 'ipv4')) next();
    else next(new ForbiddenError('This endpoint is for operators, from the networks OPS_ALLOW_FROM names'));
  };
}
