import type { IncomingMessage, ServerResponse } from 'node:http';
import { currentContext, ipKeyGenerator, type DirectRequest, type DirectRoutes, type WindowLimit } from '@codex/shared';
import type { Authenticator } from './authenticate';
import { perKeyLimit, type PlanLimits } from './plan-limits';
import { routeFor } from './route-access';
import type { ServiceProxy } from './service-proxy';
import type { TrafficCounter } from './traffic';
import type { UsageMeter } from './usage-meter';

export interface ProxiedRoutesOptions {
  proxies: ReadonlyMap<string, ServiceProxy>;
  authenticator: Authenticator;
  ipLimit: { limit: WindowLimit; max: number };
  keyLimit: { limit: WindowLimit; fallbackMax: number; windowMs: number };
  /** Present when plan limits are on. */
  plans?: PlanLimits;
  /** Present when usage is metered. */
  meter?: UsageMeter;
  /** Requests per minute for the console's dashboard (every answer, refusals included). */
  traffic?: TrafficCounter;
}

const PREFIX = '/api/v1/';

/**
 * `/api/v1/<service>/…`, the gateway's hot path, as plain function calls
 * rather than an Express middleware chain: limit by IP, match the route
 * (404/405 before any credential is read), identify the caller, apply the
 * tenant's plan, limit by key, meter, and proxy with a service JWT.
 */
export function proxiedRoutes(options: ProxiedRoutesOptions): DirectRoutes {
  const { proxies, authenticator, ipLimit, keyLimit, plans, meter, traffic } = options;

  /** The backend service a path is for: its first segment after /api/v1/, spelled exactly. */
  const serviceOf = (url: string): string | undefined => {
    if (!url.startsWith(PREFIX)) return undefined;
    let end = PREFIX.length;
    while (end < url.length && url[end] !== '/' && url[end] !== '?') end++;
    const service = url.slice(PREFIX.length, end);
    return proxies.has(service) ? service : undefined;
  };

  return {
    takes: (req) => serviceOf(req.url ?? '') !== undefined,

    async serve(req: IncomingMessage, res: ServerResponse, request: DirectRequest): Promise<void> {
      const url = req.url ?? '';
      const service = serviceOf(url)!;
      const method = req.method ?? 'GET';
      traffic?.track(res, service);
      await ipLimit.limit.take(ipKeyGenerator(request.ip), ipLimit.max, res);
      const route = routeFor(method, url.split('?')[0] ?? '');
      request.route = route.template;
      const { identity, keyId } = await authenticator.identify(route, method, req.headers);
      const context = currentContext();
      if (context) {
        context.tenantId = identity.tenantId;
        context.userId = identity.userId ?? identity.adminId;
      }
      const tenantId = identity.tenantId;
      const planPerMinute = tenantId && plans ? await plans.apply(tenantId, method, route.template) : undefined;
      await keyLimit.limit.take(keyId ?? ipKeyGenerator(request.ip), perKeyLimit(planPerMinute, keyLimit.windowMs, keyLimit.fallbackMax), res);
      if (tenantId && meter) meter.track(req, res, { tenantId, keyId, service, route: route.template });
      proxies.get(service)!.forward(req, res, { requestId: request.id, identity, protocol: request.protocol });
    },
  };
}
