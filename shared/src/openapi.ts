import { Router, type Request, type RequestHandler, type Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import { z } from 'zod';
import { validate } from './http/validate';

type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

/** What a route takes and answers; validation and the OpenAPI document both come from it. */
export interface RouteSpec<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
> {
  summary: string;
  description?: string;
  tags?: string[];
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, ResponseSpec>;
  /** Marks routes that need no user token at the gateway (documentation only). */
  security?: 'none' | 'apiKey' | 'user' | 'admin' | 'service';
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : unknown;

/** A handler whose `req.body`, `req.query` and `req.params` are the validated, parsed values. */
export type TypedHandler<B, Q, P> = (
  req: Request<P extends z.ZodType ? z.infer<P> : Record<string, string>, unknown, Infer<B>, Infer<Q>>,
  res: Response,
) => unknown;

interface Operation {
  method: HttpMethod;
  path: string;
  spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;
}

const ERROR_BODY = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
    requestId: z.string(),
  }),
});

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' });
}

/** Express `/deals/:id` → OpenAPI `/deals/{id}`. */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function parameters(location: 'query' | 'path', schema: z.ZodType | undefined): unknown[] {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

/** Collects route specs and renders the service's OpenAPI 3 document. */
export class OpenApiRegistry {
  private readonly operations: Operation[] = [];

  constructor(private readonly info: { title: string; version: string; description?: string }) {}

  add(operation: Operation): void {
    this.operations.push(operation);
  }

  document(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const { method, path, spec } of this.operations) {
      const responses = Object.fromEntries(
        Object.entries(spec.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema ? { content: { 'application/json': { schema: jsonSchema(response.schema) } } } : {}),
          },
        ]),
      );
      responses.default = {
        description: 'Error',
        content: { 'application/json': { schema: jsonSchema(ERROR_BODY) } },
      };
      (paths[openApiPath(path)] ??= {})[method] = {
        summary: spec.summary,
        ...(spec.description ? { description: spec.description } : {}),
        ...(spec.tags ? { tags: spec.tags } : {}),
        parameters: [...parameters('path', spec.params), ...parameters('query', spec.query)],
        ...(spec.body
          ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } } }
          : {}),
        responses,
        ...(spec.security ? { 'x-security': spec.security } : {}),
      };
    }
    return { openapi: '3.0.3', info: this.info, paths };
  }
}

/**
 * An Express router whose routes are declared with a RouteSpec: the request
 * is validated against it and the route appears in the OpenAPI document.
 */
export class ApiRouter {
  readonly router = Router();

  constructor(
    private readonly registry: OpenApiRegistry,
    /** Where this router will be mounted, so documented paths are complete. */
    private readonly mountPath = '',
  ) {}

  get<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string, spec: RouteSpec<B, Q, P>, ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('get', path, spec, handlers);
  }

  post<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string, spec: RouteSpec<B, Q, P>, ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('post', path, spec, handlers);
  }

  put<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string, spec: RouteSpec<B, Q, P>, ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('put', path, spec, handlers);
  }

  patch<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string, spec: RouteSpec<B, Q, P>, ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('patch', path, spec, handlers);
  }

  delete<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    path: string, spec: RouteSpec<B, Q, P>, ...handlers: [...RequestHandler[], TypedHandler<B, Q, P>]
  ): this {
    return this.route('delete', path, spec, handlers);
  }

  private route(method: HttpMethod, path: string, spec: RouteSpec<any, any, any>, handlers: unknown[]): this {
    this.registry.add({ method, path: `${this.mountPath}${path}`, spec });
    const validation = validate({ body: spec.body, query: spec.query, params: spec.params });
    this.router[method](path, validation, ...(handlers as RequestHandler[]));
    return this;
  }
}

/** `/openapi.json` and Swagger UI at `/docs` for a document. */
export function createDocsRouter(document: () => Record<string, unknown> | Promise<Record<string, unknown>>): Router {
  const router = Router();
  router.get('/openapi.json', async (_req, res) => {
    res.json(await document());
  });
  router.use('/docs', swaggerUi.serve);
  router.get('/docs', swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' } }));
  return router;
}
