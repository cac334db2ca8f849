import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { ServiceUnavailableError } from '../errors';
import type { Logger } from '../logger';
import { createPool, inTransaction } from './pool';

export interface TenantPoolCacheOptions {
  /** Where a tenant's database lives and how to log in to it. */
  resolve: (tenantId: string) => Promise<pg.PoolConfig>;
  /** Most pools kept open at once; the least recently used idle one is closed to make room. */
  maxPools: number;
  /** Most connections one tenant's pool may hold. */
  poolSize: number;
  /** Most connections all tenant pools of this process may hold together. */
  maxConnections: number;
  /** Connections idle this long are closed by their pool. */
  idleTimeoutMs?: number;
  /** How long an acquire may wait for room before answering 503. */
  acquireTimeoutMs?: number;
  logger?: Logger;
  /** For tests: how a pool is made. */
  createPool?: (config: pg.PoolConfig) => pg.Pool;
}

/** How long to wait before asking a full server again when no idle connection of ours can be given back. */
const SERVER_FULL_RETRY_MS = 100;

/** PostgreSQL's too_many_connections: the server's slots are taken, or the role is at its CONNECTION LIMIT. */
const isServerFull = (err: unknown): boolean => {
  // The pool hands connection failures on as a 503 whose cause is the server's error.
  const failure = err as { code?: string; cause?: { code?: string } } | null;
  return failure?.code === '53300' || failure?.cause?.code === '53300';
};

interface Entry {
  tenantId: string;
  pool: pg.Pool;
  /** Clients handed out or being handed out by this cache and not yet released. */
  leased: number;
  /** Callers inside acquire() for this tenant that hold no client yet. */
  waiting: number;
}

interface Creation {
  /** Callers waiting for this pool to be created. */
  joiners: number;
  entry: Promise<Entry>;
}

export interface TenantPoolStats {
  pools: number;
  connections: number;
  leased: number;
  maxPools: number;
  maxConnections: number;
}

/**
 * One pg pool per tenant database, created on first use. Caps both the number
 * of pools and the connections they hold together, so 1,000 tenants do not
 * mean 1,000 × pool size connections: when a cap is reached the least recently
 * used pool with nothing checked out is closed, and if none is, the caller
 * waits for a release up to `acquireTimeoutMs`, then gets 503.
 */
export class TenantPoolCache {
  // Map iteration order is insertion order: re-inserting on use keeps it in LRU order.
  private readonly entries = new Map<string, Entry>();
  private readonly creating = new Map<string, Creation>();
  private readonly waiters = new Set<() => void>();
  private readonly options: Required<Omit<TenantPoolCacheOptions, 'logger'>> & { logger?: Logger };
  private closed = false;

  constructor(options: TenantPoolCacheOptions) {
    if (options.poolSize > options.maxConnections) {
      throw new Error('TenantPoolCache: poolSize cannot exceed maxConnections');
    }
    this.options = {
      idleTimeoutMs: 30_000,
      acquireTimeoutMs: 5_000,
      createPool: (config) => createPool(config, { max: options.poolSize, idleTimeoutMs: this.options.idleTimeoutMs, logger: options.logger }),
      ...options,
    };
  }

  /** Checks out a client of the tenant's database; the caller must `release()` it. */
  async acquire(tenantId: string): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.options.acquireTimeoutMs;
    for (;;) {
      const entry = await this.enter(tenantId, deadline);
      try {
        while (this.entries.get(tenantId) === entry) {
          if (this.mayLease(entry)) {
            entry.leased += 1;
            try {
              return await entry.pool.connect();
            } catch (err) {
              entry.leased -= 1;
              this.notify();
              if (isServerFull(err) && (await this.makeRoomOnServer(entry, deadline))) continue;
              throw new ServiceUnavailableError('Tenant database unavailable', err);
            }
          }
          if (!(await this.evictIdle('connections', entry))) await this.waitForRoom(deadline);
        }
      } finally {
        entry.waiting -= 1;
      }
      // The pool was invalidated while we waited: start over with a fresh one.
    }
  }

  /** Runs `fn` with a client of the tenant's database and releases it afterwards. */
  async withConnection<T>(tenantId: string, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.acquire(tenantId);
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  /** Runs `fn` in a transaction on a client of the tenant's database: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(tenantId: string, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withConnection(tenantId, (db) => inTransaction(db, fn));
  }

  /**
   * Opens one connection for each tenant, in order, as far as the caps leave
   * room without closing any pool: after a restart, the first requests of the
   * busiest tenants find a connection waiting instead of paying for a new
   * backend. A tenant that cannot be reached is skipped. Answers how many pools
   * were warmed.
   */
  async warm(tenantIds: readonly string[]): Promise<number> {
    let warmed = 0;
    for (const tenantId of tenantIds) {
      if (this.closed || this.entries.size >= this.options.maxPools || this.stats().connections >= this.options.maxConnections) break;
      try {
        (await this.acquire(tenantId)).release();
        warmed += 1;
      } catch (err) {
        this.options.logger?.debug('could not warm a tenant pool', { tenantId, err });
      }
    }
    return warmed;
  }

  /** Closes a tenant's pool now (tenant suspended, deleted or its credentials rotated). */
  async invalidate(tenantId: string): Promise<void> {
    const entry = this.entries.get(tenantId);
    if (!entry) return;
    this.entries.delete(tenantId);
    await entry.pool.end();
    this.notify();
  }

  stats(): TenantPoolStats {
    let connections = 0;
    let leased = 0;
    for (const entry of this.entries.values()) {
      connections += entry.pool.totalCount;
      leased += entry.leased;
    }
    return {
      pools: this.entries.size,
      connections,
      leased,
      maxPools: this.options.maxPools,
      maxConnections: this.options.maxConnections,
    };
  }

  /** Closes every pool; waits for checked-out clients to come back. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => entry.pool.end()));
    this.notify();
  }

  /**
   * The tenant's entry, counted as waited on by the caller from this moment,
   * so nobody evicts it between its creation and the caller's lease.
   */
  private enter(tenantId: string, deadline: number): Promise<Entry> {
    if (this.closed) return Promise.reject(new ServiceUnavailableError('Shutting down'));
    const existing = this.entries.get(tenantId);
    if (existing) {
      this.entries.delete(tenantId);
      this.entries.set(tenantId, existing);
      existing.waiting += 1;
      return Promise.resolve(existing);
    }
    let creation = this.creating.get(tenantId);
    if (!creation) {
      const started: Creation = { joiners: 0, entry: Promise.resolve(undefined as never) };
      started.entry = this.createEntry(tenantId, deadline, started).finally(() => this.creating.delete(tenantId));
      this.creating.set(tenantId, started);
      creation = started;
    }
    creation.joiners += 1;
    return creation.entry;
  }

  private async createEntry(tenantId: string, deadline: number, creation: Creation): Promise<Entry> {
    const config = await this.options.resolve(tenantId);
    while (this.entries.size >= this.options.maxPools) {
      if (!(await this.evictIdle('pools'))) await this.waitForRoom(deadline);
    }
    const pool = this.options.createPool(config);
    const entry: Entry = { tenantId, pool, leased: 0, waiting: creation.joiners };
    pool.on('release', () => {
      entry.leased -= 1;
      this.notify();
    });
    pool.on('remove', () => this.notify());
    this.entries.set(tenantId, entry);
    return entry;
  }

  /** Connections this entry will hold once its current leases are served. */
  private projectedConnections(entry: Entry): number {
    return Math.max(entry.pool.totalCount, Math.min(entry.leased, this.options.poolSize));
  }

  /**
   * A lease is allowed when an open connection can serve it, when the pool is
   * at its own size (it queues inside the pool, opening nothing), or when one
   * more connection fits under the process-wide cap.
   */
  private mayLease(entry: Entry): boolean {
    if (entry.leased < entry.pool.totalCount) return true;
    if (entry.leased >= this.options.poolSize) return true;
    let total = 0;
    for (const other of this.entries.values()) total += this.projectedConnections(other);
    return total + 1 <= this.options.maxConnections;
  }

  /**
   * Closes the least recently used pool that has nothing checked out. To free
   * connections, only a pool that holds some is worth closing.
   */
  private async evictIdle(toFree: 'pools' | 'connections', except?: Entry): Promise<boolean> {
    for (const entry of this.entries.values()) {
      if (entry === except || entry.leased > 0 || entry.waiting > 0 || entry.pool.waitingCount > 0) continue;
      if (toFree === 'connections' && entry.pool.totalCount === 0) continue;
      this.entries.delete(entry.tenantId);
      this.options.logger?.debug('closing idle tenant pool', { tenantId: entry.tenantId });
      await entry.pool.end();
      return true;
    }
    return false;
  }

  /**
   * The server (or the tenant's role) has no connection slot left: give one
   * back by closing an idle pool of ours, else wait a moment for others to.
   * False once the deadline has passed.
   */
  private async makeRoomOnServer(entry: Entry, deadline: number): Promise<boolean> {
    if (Date.now() >= deadline) return false;
    this.options.logger?.debug('the database server refused a tenant connection: no slot left', { tenantId: entry.tenantId });
    if (await this.evictIdle('connections', entry)) return true;
    await delay(Math.min(SERVER_FULL_RETRY_MS, Math.max(0, deadline - Date.now())));
    return Date.now() < deadline;
  }

  private waitForRoom(deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return Promise.reject(new ServiceUnavailableError('All tenant database connections are busy'));
    }
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new ServiceUnavailableError('All tenant database connections are busy'));
      }, remaining);
      this.waiters.add(wake);
    });
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
