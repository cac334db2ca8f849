import { Router, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { z } from 'zod';
import { requireAccess, type Permission } from './auth/permissions';
import { honoursIdempotencyKey, IDEMPOTENCY_KEY_PATTERN } from './http/idempotency';
import { validate } from './http/validate';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route, as the gateway enforces it: `public` (nothing),
 * `apiKey` (a tenant API key), `user` (a key and that tenant's user token),
 * `admin` (a platform admin token), `service` (internal: a peer's service JWT).
 */
export type RouteAccess = 'public' | 'apiKey' | 'user' | 'admin' | 'service';
export const ROUTE_ACCESS_LEVELS: readonly RouteAccess[] = ['public', 'apiKey', 'user', 'admin', 'service'];

export interface ResponseSpec {
  description: string;
  /** The JSON body. */
  schema?: z.ZodType;
  /** Bodies in other media types (downloads), by media type. */
  content?: Record<string, z.ZodType>;
}

/** What a route takes and answers; validation, access, permission and the OpenAPI operation all come from it. */
export interface RouteSpec<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
> {
  /** Unique across the platform; a generated SDK names its method after it. */
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  body?: B;
  query?: Q;
  params?: P;
  /** A body read as a raw stream (uploads) rather than parsed JSON, with its media types. */
  rawBody?: { contentTypes: string[]; description: string };
  responses: Record<number, ResponseSpec>;
  /** Error statuses the route answers beyond those its access, input and params imply (409, 413, 422, …). */
  errors?: number[];
  access: RouteAccess;
  /** Checked before the input is validated: 403 FORBIDDEN naming it when the caller's roles lack it. */
  permission?: Permission;
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : unknown;

/** A handler whose `req.body`, `req.query` and `req.params` are the validated, parsed values. */
export type TypedHandler<B, Q, P> = (
  req: Request<P extends z.ZodType ? z.infer<P> : Record<string, string>, unknown, Infer<B>, Infer<Q>>,
  res: Response,
) => unknown;

export interface Operation {
  method: HttpMethod;
  /** Express form, `/api/v1/crm/deals/:id`. */
  path: string;
  spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;
  /** The route replays its first answer for a repeated `Idempotency-Key` (its handlers include `idempotent()`). */
  idempotent?: boolean;
}

/**
 * The request headers a route reads beyond credentials, documented so that
 * clients (and the generated SDK) know where a retry is safe and where an
 * update needs the ETag it read.
 */
const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'Any unique value (a UUID): a retry with the same key and body gets the first answer again instead of a second write (kept 24 h)',
  schema: { type: 'string', minLength: 8, maxLength: 255, pattern: IDEMPOTENCY_KEY_PATTERN.source },
} as const;
const IF_MATCH_PARAMETER = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'The ETag you read (or send `version` in the body): 409 if the record changed meanwhile, 428 if neither is sent',
  schema: { type: 'string', maxLength: 20 },
} as const;

/** The standard error body every 4xx and 5xx answers with. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('Stable machine-readable code (ErrorCode)'),
      message: z.string(),
      details: z.unknown().optional().describe('Per-field problems for VALIDATION_FAILED, other context otherwise'),
      requestId: z.string(),
    }),
  })
  .meta({ id: 'Error' });

/** Error answers by status: the component each one refers to. */
const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: { name: 'BadRequest', description: 'The input is invalid (VALIDATION_FAILED lists each field) or not JSON' },
  401: { name: 'Unauthorized', description: 'Credentials are missing, invalid or expired' },
  403: { name: 'Forbidden', description: 'Authenticated, but not allowed' },
  404: { name: 'NotFound', description: 'No such record (records of other tenants do not exist for you)' },
  409: { name: 'Conflict', description: 'The request conflicts with the current state' },
  413: { name: 'PayloadTooLarge', description: 'The body is too large' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not in a media type this route takes' },
  422: { name: 'Unprocessable', description: 'Understood but refused (e.g. an import whose rows failed)' },
  428: { name: 'PreconditionRequired', description: 'If-Match (or version in the body) is required' },
  429: { name: 'TooManyRequests', description: 'A rate limit was reached; see Retry-After' },
  503: { name: 'Unavailable', description: 'A dependency is unavailable; retry later' },
};

/**
 * zod's JSON Schema → OpenAPI components: references point at components, and
 * `{ allOf: [{ $ref }] }` alone (what zod writes for an optional reused schema)
 * becomes the reference itself, which OpenAPI tools read without a warning.
 */
const toComponentRefs = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value).replaceAll('"#/definitions/', '"#/components/schemas/'), (_key, node: unknown) => {
    const only = node && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length === 1 ? (node as { allOf?: unknown }).allOf : undefined;
    return Array.isArray(only) && only.length === 1 && Object.keys(only[0] as object).join() === '$ref' ? only[0] : node;
  });

/** Express `/deals/:id` → OpenAPI `/deals/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

const SECURITY: Record<RouteAccess, Array<Record<string, string[]>>> = {
  public: [],
  apiKey: [{ apiKey: [] }],
  user: [{ apiKey: [], bearer: [] }],
  admin: [{ bearer: [] }],
  service: [{ serviceToken: [] }],
};

export const SECURITY_SCHEMES = {
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: "The tenant app's API key (cmk_…)" },
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "A user's access token (with the API key) or a platform admin's" },
  serviceToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A service JWT (internal routes only)' },
} as const;

/** The error statuses an operation can answer, from what it takes and who may call it. */
export function errorStatuses(spec: Operation['spec'], path: string): number[] {
  const statuses = new Set<number>(spec.errors ?? []);
  if (spec.body || spec.query || spec.params || spec.rawBody || path.includes(':')) statuses.add(400);
  if (spec.access !== 'public') statuses.add(401);
  if (spec.permission || spec.access === 'user' || spec.access === 'admin' || spec.access === 'service') statuses.add(403);
  if (path.includes(':')) statuses.add(404);
  if (spec.access !== 'service') statuses.add(429);
  statuses.add(503);
  return [...statuses].sort();
}

/**
 * Collects route specs and renders the service's OpenAPI 3 document: schemas
 * with an id (`.meta({ id })`) become components reused by `$ref`, every
 * error answer refers to the one error schema.
 */
export class OpenApiRegistry {
  readonly operations: Operation[] = [];

  constructor(private readonly info: { title: string; version: string; description?: string }) {}

  add(operation: Operation): void {
    const clash = this.operations.find((o) => o.spec.operationId === operation.spec.operationId);
    if (clash) throw new Error(`operationId ${operation.spec.operationId} is used twice (${clash.path}, ${operation.path})`);
    this.operations.push(operation);
  }

  /** The methods served at a concrete path (for 405 and `Allow`), by matching the registered templates. */
  methodsAt(path: string): string[] {
    return this.operations.filter((o) => pathPattern(o.path).test(path)).map((o) => o.method.toUpperCase());
  }

  /** Whether the route at a concrete path reads its raw body stream (an upload) instead of parsed JSON. */
  takesRawBody(method: string, path: string): boolean {
    const lower = method.toLowerCase();
    return this.operations.some((o) => o.spec.rawBody && o.method === lower && pathPattern(o.path).test(path));
  }

  document(): Record<string, unknown> {
    const schemas: Record<string, unknown> = {};
    const toSchema = (schema: z.ZodType, io: 'input' | 'output') => {
      const { definitions, ...json } = toComponentRefs(
        z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any', reused: 'inline' }),
      ) as Record<string, unknown> & { definitions?: Record<string, unknown> };
      Object.assign(schemas, definitions);
      return json;
    };
    const usedErrors = new Set<number>();
    const paths: Record<string, Record<string, unknown>> = {};
    for (const { method, path, spec, idempotent } of this.operations) {
      const responses: Record<string, unknown> = {};
      for (const [status, response] of Object.entries(spec.responses)) {
        const content = {
          ...(response.schema ? { 'application/json': { schema: toSchema(response.schema, 'output') } } : {}),
          ...Object.fromEntries(Object.entries(response.content ?? {}).map(([type, schema]) => [type, { schema: toSchema(schema, 'output') }])),
        };
        responses[status] = { description: response.description, ...(Object.keys(content).length ? { content } : {}) };
      }
      for (const status of errorStatuses(spec, path)) {
        if (responses[status]) continue;
        usedErrors.add(status);
        responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]?.name ?? 'Error'}` };
      }
      const requestBody = spec.body
        ? { required: true, content: { 'application/json': { schema: toSchema(spec.body, 'input') } } }
        : spec.rawBody
          ? {
              required: true,
              description: spec.rawBody.description,
              content: Object.fromEntries(spec.rawBody.contentTypes.map((type) => [type, { schema: { type: 'string' } }])),
            }
          : undefined;
      const parameters = [
        ...this.parameters('path', spec.params, toSchema),
        ...this.parameters('query', spec.query, toSchema),
        ...(idempotent ? [IDEMPOTENCY_KEY_PARAMETER] : []),
        ...(errorStatuses(spec, path).includes(428) ? [IF_MATCH_PARAMETER] : []),
      ];
      paths[openApiPath(path)] ??= {};
      paths[openApiPath(path)]![method] = {
        operationId: spec.operationId,
        summary: spec.summary,
        ...(spec.description ? { description: spec.description } : {}),
        tags: spec.tags ?? ['default'],
        security: SECURITY[spec.access],
        ...(parameters.length ? { parameters } : {}),
        ...(requestBody ? { requestBody } : {}),
        responses,
        'x-access': spec.access,
        ...(spec.permission ? { 'x-permission': spec.permission } : {}),
      };
    }
    Object.assign(schemas, (toComponentRefs(z.toJSONSchema(ErrorBody, { target: 'openapi-3.0', io: 'output' })) as { definitions?: object }).definitions);
    const responses = Object.fromEntries(
      [...usedErrors].sort().map((status) => {
        const { name, description } = ERROR_RESPONSES[status] ?? { name: 'Error', description: 'Error' };
        return [name, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }];
      }),
    );
    return {
      openapi: '3.0.3',
      info: this.info,
      paths,
      components: { schemas, responses, securitySchemes: SECURITY_SCHEMES },
    };
  }

  private parameters(location: 'query' | 'path', schema: z.ZodType | undefined, toSchema: (s: z.ZodType, io: 'input') => unknown) {
    if (!schema) return [];
    const json = toSchema(schema, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] };
    return Object.entries(json.properties ?? {}).map(([name, property]) => ({
      name,
      in: location,
      required: location === 'path' || (json.required ?? []).includes(name),
      ...(property.description ? { description: property.description } : {}),
      schema: property,
    }));
  }
}

/** A matcher for concrete paths of an Express path template (`:id` matches one segment). */
export function pathPattern(template: string): RegExp {
  const escaped = template
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}$`);
}

/**
 * An Express router whose routes are declared with a RouteSpec: the caller's
 * permission is checked, then the request is validated against it, and the
 * route appears in the OpenAPI document.
 */
export class ApiRouter {
  readonly router = Router();

  constructor(
    private readonly registry: OpenApiRegistry,
    /** Where this router will be mounted, so documented paths are complete. */
    private readonly mountPath = '',
  ) {}

  get<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string,
    spec: RouteSpec<B, Q, P>,
    ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('get', path, spec, handlers);
  }

  post<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string,
    spec: RouteSpec<B, Q, P>,
    ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('post', path, spec, handlers);
  }

  put<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string,
    spec: RouteSpec<B, Q, P>,
    ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('put', path, spec, handlers);
  }

  patch<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string,
    spec: RouteSpec<B, Q, P>,
    ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('patch', path, spec, handlers);
  }

  delete<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string,
    spec: RouteSpec<B, Q, P>,
    ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('delete', path, spec, handlers);
  }

  private route(method: HttpMethod, path: string, spec: RouteSpec<any, any, any>, handlers: unknown[]): this {
    this.registry.add({ method, path: `${this.mountPath}${path}`, spec, idempotent: handlers.some(honoursIdempotencyKey) });
    const checks = [requireAccess(spec.access, spec.permission), validate({ body: spec.body, query: spec.query, params: spec.params })];
    this.router[method](path, ...checks, ...(handlers as RequestHandler[]));
    return this;
  }
}

/** `/openapi.json` and Swagger UI at `/docs` for a document. */
export function createDocsRouter(document: () => Record<string, unknown> | Promise<Record<string, unknown>>): Router {
  const router = Router();
  router.get('/openapi.json', async (_req, res) => {
    res.json(await document());
  });
  // The docs page is served wherever the platform is reached, https or not (nginx's TLS terminates
  // before us): it must not ask the browser to upgrade its script and style requests, which leaves
  // it blank on plain http. Everything else keeps helmet's full policy.
  const docsPolicy = helmet.contentSecurityPolicy({ directives: { upgradeInsecureRequests: null } });
  router.use('/docs', docsPolicy, swaggerUi.serve);
  router.get('/docs', docsPolicy, swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' } }));
  return router;
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** The app's route specs (set by createServiceApp). */
    openapi?: OpenApiRegistry;
  }
}
