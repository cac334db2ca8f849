import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcrypt';
import type { Express } from 'express';
import request from 'supertest';
import { closeServiceDeps, envPrefix, type BackendServiceName, type ServiceDeps, type ServiceName } from '@codex/shared';
import { appOf } from './apps';
import { listenOnFreePort, type Listening } from './listen';
import { provisionTestTenant } from './provisioning';
import { createTestDeps } from './service-deps';
import { createTenantTestBed, type TenantTestBed } from './tenant-test-bed';

/** A tenant of the test platform with its API key and a signed-in owner. */
export interface PlatformTenant {
  id: string;
  key: string;
  ownerId: string;
  /** The owner's access token. */
  token: string;
}

export interface TestPlatform {
  bed: TenantTestBed;
  /** The gateway, listening: tests call the platform as a tenant app would. */
  gateway: Listening;
  services: Partial<Record<BackendServiceName, Listening>>;
  deps: Partial<Record<ServiceName, ServiceDeps>>;
  /** A new tenant (own database), with an owner signed up through the gateway. */
  newTenant(): Promise<PlatformTenant>;
  /** A new platform operator (super admin), signed in through the gateway: their access token. */
  newOperatorToken(): Promise<string>;
  /** A request through the gateway as `tenant`'s owner (or with `token` instead). */
  as(tenant: PlatformTenant, token?: string): AgentFor;
  /** Runs SQL in a tenant's database. */
  query<T>(tenantId: string, sql: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AgentFor = Record<Method, (path: string) => request.Test>;

/**
 * The real platform in process: the chosen backend services and the gateway,
 * each an app on its own loopback port talking over real HTTP, on a master
 * database (and tenant template) of this test file's own.
 */
export async function startTestPlatform(
  options: { services?: BackendServiceName[]; env?: Partial<Record<ServiceName, Record<string, string>>> } = {},
): Promise<TestPlatform> {
  const wanted = new Set<BackendServiceName>(['auth', 'admin', ...(options.services ?? ['crm', 'client'])]);
  const bed = await createTenantTestBed();
  const deps: Partial<Record<ServiceName, ServiceDeps>> = {};
  const services: Partial<Record<BackendServiceName, Listening>> = {};
  const urls: Record<string, string> = {};
  // Ports first, so every service knows where the others are.
  const started = await Promise.all(
    [...wanted].map(async (service) => {
      let app: Express | undefined;
      const listening = await listenOnFreePort((req, res) => app!(req, res));
      return { service, listening, setApp: (built: Express) => (app = built) };
    }),
  );
  for (const { service, listening } of started) urls[`${envPrefix(service)}_URL`] = listening.url;
  const base = { BCRYPT_COST: '10', LOGIN_IP_ATTEMPTS: '100000', TENANT_TEMPLATE_DATABASE: bed.template, ...urls };
  for (const { service, listening, setApp } of started) {
    deps[service] = createTestDeps(service, bed.db.url, { ...base, ...options.env?.[service] });
    setApp(appOf(service)(deps[service] as ServiceDeps<typeof service>));
    services[service] = listening;
  }
  const spoolDir = await mkdtemp(path.join(tmpdir(), 'usage-spool-'));
  const metering: Record<string, string> = wanted.has('billing') ? { USAGE_METERING: 'on', USAGE_FLUSH_MS: '200', USAGE_SPOOL_DIR: spoolDir } : {};
  deps.gateway = createTestDeps('gateway', bed.db.url, { ...base, ...metering, ...options.env?.gateway });
  const gateway = await listenOnFreePort(appOf('gateway')(deps.gateway as ServiceDeps<'gateway'>));

  const as = (tenant: PlatformTenant, token = tenant.token): AgentFor => {
    const agent = request(gateway.url);
    const call = (method: Method) => (path: string) => agent[method](path).set('X-API-Key', tenant.key).set('Authorization', `Bearer ${token}`);
    return { get: call('get'), post: call('post'), put: call('put'), patch: call('patch'), delete: call('delete') };
  };

  return {
    bed,
    gateway,
    services,
    deps,
    as,
    async newTenant() {
      const provisioned = await provisionTestTenant(deps.admin!, bed.template);
      const key = provisioned.apiKey.key;
      const signup = await request(gateway.url)
        .post('/api/v1/auth/register')
        .set('X-API-Key', key)
        .send({ email: `owner-${randomBytes(4).toString('hex')}@tenant.example`, password: 'correct horse battery' });
      if (signup.status !== 201) throw new Error(`owner sign-up failed: ${signup.status} ${JSON.stringify(signup.body)}`);
      return { id: provisioned.tenant.id, key, ownerId: signup.body.user.id, token: signup.body.accessToken };
    },
    async newOperatorToken() {
      const email = `ops-${randomBytes(4).toString('hex')}@platform.example`;
      const password = 'correct horse battery';
      await deps.admin!.db.query(`INSERT INTO admins (email, password_hash, role) VALUES ($1, $2, 'super_admin')`, [email, await bcrypt.hash(password, 10)]);
      const login = await request(gateway.url).post('/api/v1/auth/admin/login').send({ email, password });
      if (login.status !== 200) throw new Error(`operator sign-in failed: ${login.status} ${JSON.stringify(login.body)}`);
      return login.body.accessToken as string;
    },
    query: (tenantId, sql, values) => deps.admin!.tenants.withConnection(tenantId, async (db) => (await db.query(sql, values)).rows),
    async close() {
      await gateway.close();
      await Promise.all(Object.values(services).map((s) => s.close()));
      for (const d of Object.values(deps)) await closeServiceDeps(d);
      await bed.drop();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}
