import { pathPattern, routeMiss, type RouteAccess } from '@codex/shared';
import { ROUTE_TABLE } from './route-table';

/** What a request must present: nothing, a tenant API key, a key and a user token, or an admin token. */
export type Access = Exclude<RouteAccess, 'service'>;

interface CompiledRoute {
  method: string;
  template: string;
  pattern: RegExp;
  access: Access;
}

/** Routes by the service segment of their path (`/api/v1/<service>/…`), so a request is matched only against its service's few. */
const ROUTES_BY_SERVICE = new Map<string, CompiledRoute[]>();
for (const route of ROUTE_TABLE) {
  const service = route.path.split('/')[3]!;
  const routes = ROUTES_BY_SERVICE.get(service) ?? [];
  routes.push({ method: route.method, template: route.path, pattern: pathPattern(route.path), access: route.access });
  ROUTES_BY_SERVICE.set(service, routes);
}
// A literal segment wins over a parameter, as in the services' routers (`/flags/evaluate` before `/flags/:key`).
const parameters = (template: string) => template.split('/').filter((segment) => segment.startsWith(':')).length;
for (const routes of ROUTES_BY_SERVICE.values()) routes.sort((a, b) => parameters(a.template) - parameters(b.template));

/**
 * The route a request is for, from the route table generated from the
 * services' own route specs (one source for a route's access): its template
 * (a bounded metrics label) and who may call it. A path no service serves is
 * 404 and a known path with another method 405 (with `Allow`), both before
 * any credential is looked at. Odd spellings (trailing slashes, encodings,
 * case) match no route and so fail closed.
 */
export function routeFor(method: string, path: string): { template: string; access: Access } {
  const routes = ROUTES_BY_SERVICE.get(path.split('/')[3] ?? '') ?? [];
  const atPath = routes.filter((route) => route.pattern.test(path));
  const wanted = method === 'HEAD' ? 'GET' : method;
  const route = atPath.find((r) => r.method === wanted);
  if (!route)
    throw routeMiss(
      method,
      path,
      atPath.map((r) => r.method),
    );
  return route;
}

/** Who may call `method path` (see routeFor). */
export const accessFor = (method: string, path: string): Access => routeFor(method, path).access;
