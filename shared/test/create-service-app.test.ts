import { Writable } from 'node:stream';
import request from 'supertest';
import { z } from 'zod';
import { ApiRouter, AppError, ConflictError, createLogger, createServiceApp, type Logger } from '../src';

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('test', { level: 'debug', stream }), lines };
}

function buildApp(logger: Logger, healthy = true) {
  return createServiceApp({
    service: 'crm',
    config: { corsOrigins: ['https://console.example'], bodyLimit: '1kb', trustProxy: 'loopback', serviceJwtSecret: 'x'.repeat(32) },
    logger,
    healthChecks: {
      database: async () => {
        if (!healthy) throw new Error('connection refused');
      },
    },
    routes: (app, openapi) => {
      const api = new ApiRouter(openapi);
      api.post(
        '/things',
        {
          operationId: 'createThing',
          access: 'public',
          summary: 'Create a thing',
          body: z.object({ name: z.string().min(1), size: z.number().int().positive() }),
          responses: { 201: { description: 'Created' } },
        },
        (req, res) => {
          res.status(201).json({ name: req.body.name, size: req.body.size });
        },
      );
      api.get(
        '/things/:id',
        {
          operationId: 'getThing',
          access: 'public',
          summary: 'Get a thing',
          params: z.object({ id: z.uuid() }),
          query: z.object({ expand: z.enum(['owner']).optional() }),
          responses: { 200: { description: 'OK' } },
        },
        (req, res) => {
          res.json({ id: req.params.id, expand: req.query.expand ?? null });
        },
      );
      app.use(api.router);
      app.get('/boom', () => {
        throw new Error('secret internals at /srv/app.ts:42');
      });
      app.get('/conflict', async () => {
        throw new ConflictError('Already there', { field: 'slug' });
      });
      app.get('/pg-unique', async () => {
        throw Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: '23505', constraint: 'tenants_slug_key' });
      });
      app.get('/limited', () => {
        throw new AppError('RATE_LIMITED', 429, 'Slow down', undefined, { headers: { 'Retry-After': '7' } });
      });
    },
  });
}

describe('createServiceApp', () => {
  const { logger, lines } = capturingLogger();
  const app = buildApp(logger);

  beforeEach(() => lines.splice(0));

  it('when the body is malformed JSON, then 400 INVALID_JSON with the request id and no stack logged', async () => {
    const res = await request(app).post('/things').set('Content-Type', 'application/json').send('{"name":');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_JSON', message: expect.any(String), requestId: res.headers['x-request-id'] } });
    expect(lines.some((line) => line.level === 'error')).toBe(false);
  });

  it('when the body is over the limit, then 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await request(app)
      .post('/things')
      .send({ name: 'x'.repeat(2_000), size: 1 });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('when the body is not JSON, then 415', async () => {
    const res = await request(app).post('/things').set('Content-Type', 'text/csv').send('name,size\na,1');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('when fields are invalid, then 400 VALIDATION_FAILED lists each bad field', async () => {
    const res = await request(app).post('/things').send({ name: '', size: -1, extra: true });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['body.name', 'body.size']);
  });

  it('when the body is missing entirely, then 400 rather than a crash', async () => {
    const res = await request(app).post('/things');
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('body');
  });

  it('when input is valid, then the handler sees parsed values', async () => {
    const res = await request(app).post('/things').send({ name: 'a', size: 2 });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ name: 'a', size: 2 });
  });

  it('when path and query parameters are invalid, then both are listed', async () => {
    const res = await request(app).get('/things/not-a-uuid?expand=everything');
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['params.id', 'query.expand']);
  });

  it('when the query is valid, then the handler reads the parsed query', async () => {
    const id = '0b6d2f4e-4a49-4c33-9a8c-0f2a2e7d9d11';
    const res = await request(app).get(`/things/${id}?expand=owner`);
    expect(res.body).toEqual({ id, expand: 'owner' });
  });

  it('when no route matches, then 404 NOT_FOUND', async () => {
    const res = await request(app).get('/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it('when a served path is called with another method, then 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const res = await request(app).delete('/things');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('when a service route is called without a service JWT, then 401 before anything else', async () => {
    const res = await request(app).get('/api/v1/crm/anything');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('INVALID_SERVICE_TOKEN');
  });

  it('when a handler throws an unknown error, then 500 INTERNAL without internals, logged with its stack', async () => {
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error', requestId: expect.any(String) } });
    expect(JSON.stringify(res.body)).not.toContain('secret internals');
    const logged = lines.find((line) => line.level === 'error');
    expect((logged?.err as { stack?: string } | undefined)?.stack).toContain('secret internals');
    expect(logged?.requestId).toBe(res.body.error.requestId);
  });

  it('when an AppError has details, then they are in the body', async () => {
    const res = await request(app).get('/conflict');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'CONFLICT', details: { field: 'slug' } });
  });

  it('when a raw driver error reaches the middleware (a bug: data access translates at its edge), then 500 without SQL in the body', async () => {
    const res = await request(app).get('/pg-unique');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('duplicate key');
  });

  it('when an error carries headers, then they are sent', async () => {
    const res = await request(app).get('/limited');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
  });

  it('when a sane X-Request-Id comes in, then it is echoed; an unsafe one is replaced', async () => {
    const kept = await request(app).get('/nothing').set('X-Request-Id', 'trace-123');
    expect(kept.headers['x-request-id']).toBe('trace-123');
    expect(kept.body.error.requestId).toBe('trace-123');
    const replaced = await request(app).get('/nothing').set('X-Request-Id', 'bad id <script>');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a request finishes, then one access log line carries method, path, status and duration', async () => {
    await request(app).get('/nothing-here?x=1').set('X-Request-Id', 'log-check');
    const line = lines.find((entry) => entry.message === 'request' && entry.requestId === 'log-check');
    expect(line).toMatchObject({ level: 'http', method: 'GET', path: '/nothing-here', status: 404, service: 'test' });
    expect(typeof line?.durationMs).toBe('number');
  });

  it('when a direct route (/health) answers, then it is logged and counted like any other request, once each', async () => {
    const counted = async () => {
      const text = (await request(app).get('/metrics')).text;
      return Number(/http_requests_total\{method="GET",route="\/health",status="200",service="crm"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await counted();
    await request(app).get('/health?probe=1').set('X-Request-Id', 'direct-log-check');
    await request(app).get('/health');
    expect(await counted()).toBe(before + 2);
    const logged = lines.filter((entry) => entry.message === 'request' && entry.requestId === 'direct-log-check');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'http', method: 'GET', path: '/health', status: 200 });
    expect(typeof logged[0]?.durationMs).toBe('number');
  });

  it('when /health is called with a passing check, then 200 with the check detail', async () => {
    const res = await request(app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', service: 'crm', checks: { database: { status: 'ok' } } });
  });

  it('when the database check fails, then /health answers 503 down', async () => {
    const res = await request(buildApp(logger, false)).get('/health');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'down', checks: { database: { status: 'fail', error: 'connection refused' } } });
  });

  it('when /metrics is scraped, then request counts and latency are there by route template', async () => {
    await request(app).post('/things').send({ name: 'a', size: 1 });
    const res = await request(app).get('/metrics');
    expect(res.text).toMatch(/http_requests_total\{method="POST",route="\/things",status="201",service="crm"\} \d+/);
    expect(res.text).toContain('http_request_duration_seconds_bucket');
  });

  it('when the OpenAPI document is requested, then routes appear with their schemas', async () => {
    const res = await request(app).get('/openapi.json');
    expect(res.body.openapi).toBe('3.0.3');
    expect(res.body.paths['/things'].post.requestBody.content['application/json'].schema.required).toEqual(['name', 'size']);
    expect(res.body.paths['/things/{id}'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['id', 'expand']);
  });

  it('when /docs is opened, then Swagger UI is served', async () => {
    const res = await request(app).get('/docs/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('swagger-ui');
  });

  it('when /docs is opened over plain http on any host, then its policy does not ask for https upgrades (the rest of the API keeps it)', async () => {
    for (const path of ['/docs/', '/docs/swagger-ui-init.js']) {
      const res = await request(app).get(path).set('Host', 'api.internal:8080');
      expect(res.status).toBe(200);
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    }
    expect((await request(app).get('/health')).headers['content-security-policy']).toContain('upgrade-insecure-requests');
  });

  it('when a configured origin calls, then CORS allows it; others get no CORS header', async () => {
    const allowed = await request(app).get('/health').set('Origin', 'https://console.example');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://console.example');
    expect(allowed.headers['access-control-expose-headers']).toBe(
      'X-Request-Id,RateLimit,RateLimit-Policy,Retry-After,Location,ETag,Idempotent-Replayed,Preference-Applied,Allow',
    );
    const denied = await request(app).get('/health').set('Origin', 'https://evil.example');
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
  });
});
