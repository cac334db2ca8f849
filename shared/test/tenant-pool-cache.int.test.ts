import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, ServiceUnavailableError, TenantPoolCache } from '../src';
import { createTestDatabase, serverQuery, type TestDatabase } from '../../test/support/database';

/** Connections the server sees from this cache, by application name. */
async function serverConnections(url: string, applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    return Number(rows[0]!.count);
  } finally {
    await client.end();
  }
}

describe('TenantPoolCache', () => {
  const databases: Record<string, TestDatabase> = {};
  const applicationName = `pool-cache-${process.pid}`;

  beforeAll(async () => {
    for (const tenant of ['a', 'b', 'c']) databases[tenant] = await createTestDatabase('tenant');
  });
  afterAll(async () => {
    await Promise.all(Object.values(databases).map((db) => db.drop()));
  });

  function cache(options: { maxPools?: number; maxConnections?: number; poolSize?: number; acquireTimeoutMs?: number } = {}) {
    return new TenantPoolCache({
      resolve: async (tenantId) => {
        const db = databases[tenantId];
        if (!db) throw new Error(`unknown tenant ${tenantId}`);
        return { connectionString: db.url, application_name: applicationName };
      },
      maxPools: options.maxPools ?? 10,
      maxConnections: options.maxConnections ?? 10,
      poolSize: options.poolSize ?? 2,
      acquireTimeoutMs: options.acquireTimeoutMs ?? 2_000,
      logger: createLogger('test', { silent: true }),
    });
  }

  it('when a tenant is used, then its own database answers', async () => {
    const pools = cache();
    try {
      const names = await Promise.all(
        ['a', 'b'].map((tenant) => pools.withConnection(tenant, async (client) => (await client.query('SELECT current_database() AS db')).rows[0].db)),
      );
      expect(names).toEqual([databases.a!.name, databases.b!.name]);
      expect(pools.stats().pools).toBe(2);
    } finally {
      await pools.close();
    }
  });

  it('when more tenants are used than pools allowed, then the least recently used idle pool is closed', async () => {
    const pools = cache({ maxPools: 2 });
    try {
      await pools.withConnection('a', (c) => c.query('SELECT 1'));
      await pools.withConnection('b', (c) => c.query('SELECT 1'));
      await pools.withConnection('a', (c) => c.query('SELECT 1')); // a is now the most recent
      await pools.withConnection('c', (c) => c.query('SELECT 1'));
      expect(pools.stats().pools).toBe(2);
      // b was evicted: using it again must reopen it and evict the next least recent (a).
      await pools.withConnection('b', (c) => c.query('SELECT 1'));
      expect(pools.stats().pools).toBe(2);
    } finally {
      await pools.close();
    }
  });

  it('when every connection is checked out, then the next acquire waits for a release', async () => {
    const pools = cache({ maxConnections: 2, poolSize: 2 });
    try {
      const held = [await pools.acquire('a'), await pools.acquire('b')];
      let acquired = false;
      const waiting = pools.acquire('c').then((client) => {
        acquired = true;
        return client;
      });
      await delay(200);
      expect(acquired).toBe(false);
      expect(await serverConnections(databases.a!.url, applicationName)).toBeLessThanOrEqual(2);
      held[0]!.release();
      const client = await waiting;
      expect((await client.query('SELECT current_database() AS db')).rows[0].db).toBe(databases.c!.name);
      client.release();
      held[1]!.release();
      expect(pools.stats().connections).toBeLessThanOrEqual(2);
    } finally {
      await pools.close();
    }
  });

  it('when no connection frees up in time, then 503 SERVICE_UNAVAILABLE', async () => {
    const pools = cache({ maxConnections: 1, poolSize: 1, acquireTimeoutMs: 200 });
    try {
      const held = await pools.acquire('a');
      await expect(pools.acquire('b')).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      held.release();
    } finally {
      await pools.close();
    }
  });

  it('when many requests hit many tenants at once, then open connections never exceed the cap', async () => {
    const pools = cache({ maxConnections: 3, poolSize: 2, maxPools: 2 });
    let peak = 0;
    try {
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          pools.withConnection(['a', 'b', 'c'][i % 3]!, async (client) => {
            peak = Math.max(peak, pools.stats().connections);
            await client.query('SELECT pg_sleep(0.005)');
          }),
        ),
      );
      expect(peak).toBeLessThanOrEqual(3);
      expect(pools.stats().pools).toBeLessThanOrEqual(2);
    } finally {
      await pools.close();
    }
  });

  it('when the server has no connection slot left, then an idle pool of ours is closed to make one', async () => {
    // A role limited to one connection stands in for a full server: PostgreSQL refuses both with 53300.
    const role = `pool_full_${process.pid}`;
    const password = 'pool-full-password';
    await serverQuery(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1 PASSWORD '${password}'`);
    const asRole = (url: string) => Object.assign(new URL(url), { username: role, password }).toString();
    const pools = new TenantPoolCache({
      resolve: async (tenantId) => ({ connectionString: asRole(databases[tenantId]!.url), application_name: applicationName }),
      maxPools: 10,
      maxConnections: 10,
      poolSize: 2,
      acquireTimeoutMs: 2_000,
    });
    try {
      await pools.withConnection('a', (c) => c.query('SELECT 1'));
      expect(pools.stats().connections).toBe(1);
      const database = await pools.withConnection('b', async (c) => (await c.query('SELECT current_database() AS db')).rows[0].db);
      expect(database).toBe(databases.b!.name);
      expect(pools.stats()).toMatchObject({ pools: 1, connections: 1 });
      // With nothing idle to give back, the caller gets 503 once its wait is over, not at the first refusal.
      const held = await pools.acquire('b');
      const startedAt = Date.now();
      const refused = await pools.acquire('c').catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(ServiceUnavailableError);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_500);
      held.release();
    } finally {
      await pools.close();
      await serverQuery(`DROP ROLE ${role}`);
    }
  });

  it('when a tenant is invalidated, then its pool is closed', async () => {
    const pools = cache();
    try {
      await pools.withConnection('a', (c) => c.query('SELECT 1'));
      await pools.invalidate('a');
      expect(pools.stats().pools).toBe(0);
    } finally {
      await pools.close();
    }
  });

  it('when the tenant cannot be resolved, then the error reaches the caller and nothing is cached', async () => {
    const pools = cache();
    try {
      await expect(pools.acquire('nobody')).rejects.toThrow(/unknown tenant/);
      expect(pools.stats().pools).toBe(0);
    } finally {
      await pools.close();
    }
  });
});
