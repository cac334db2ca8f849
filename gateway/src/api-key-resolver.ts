import { ErrorCode, ForbiddenError, hashApiKey, looksLikeApiKey, UnauthorizedError, type Queryable } from '@codex/shared';

export interface ResolvedKey {
  keyId: string;
  tenantId: string;
  tenantStatus: string;
  /** Why a suspended tenant is suspended ('admin' or 'unpaid'). */
  suspendedFor?: string | null;
  /** When a rotated key stops working (ms since the epoch); a cached key is not used past it. */
  expiresAt?: number;
}

interface CacheEntry {
  value: ResolvedKey | null;
  expiresAt: number;
}

/** Unknown keys are remembered briefly too, so a flood of bad keys cannot become a flood of queries. */
const NEGATIVE_TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;

const INVALID_KEY = () => new UnauthorizedError('API key is missing, unknown, revoked or expired', ErrorCode.INVALID_API_KEY);

/**
 * `X-API-Key` → tenant. Keys are looked up by their SHA-256 (the only form
 * stored) and cached for `ttlMs` (never past a rotated key's end). Revocation
 * and suspension reach every gateway instance through `forget`, fed by
 * AccessChanges within about a second; the TTL only bounds staleness should
 * that feed fail.
 */
export class ApiKeyResolver {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly db: Queryable,
    private readonly ttlMs: number,
  ) {}

  /** The tenant of a usable key; 401 INVALID_API_KEY or 403 TENANT_SUSPENDED otherwise. */
  async resolve(key: string | undefined, options: { allowSuspended?: boolean } = {}): Promise<ResolvedKey> {
    if (!key || !looksLikeApiKey(key)) throw INVALID_KEY();
    const hash = hashApiKey(key);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.expiresAt <= now) {
      const value = await this.lookup(hash);
      const cachedUntil = now + (value ? this.ttlMs : Math.min(this.ttlMs, NEGATIVE_TTL_MS));
      entry = { value, expiresAt: value?.expiresAt ? Math.min(cachedUntil, value.expiresAt) : cachedUntil };
      this.remember(hash, entry);
    }
    if (!entry.value) throw INVALID_KEY();
    if (entry.value.tenantStatus === 'suspended' && options.allowSuspended) return entry.value;
    if (entry.value.tenantStatus === 'suspended')
      throw new ForbiddenError(
        entry.value.suspendedFor === 'unpaid' ? 'This tenant is suspended for an unpaid invoice; paying it restores access' : 'This tenant is suspended',
        ErrorCode.TENANT_SUSPENDED,
      );
    if (entry.value.tenantStatus !== 'active') throw INVALID_KEY();
    return entry.value;
  }

  /** Drops what is cached for a key, or for every key of a tenant, after a change made anywhere (AccessChanges). */
  forget(change: { tenantId: string; keyId: string | null }): void {
    for (const [hash, entry] of this.cache) {
      if (entry.value && (change.keyId ? entry.value.keyId === change.keyId : entry.value.tenantId === change.tenantId)) this.cache.delete(hash);
    }
  }

  private async lookup(hash: string): Promise<ResolvedKey | null> {
    const { rows } = await this.db.query<{ key_id: string; tenant_id: string; status: string; suspended_for: string | null; expires_at: Date | null }>(
      `SELECT k.id AS key_id, k.tenant_id, t.status, t.suspended_for, k.expires_at
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [hash],
    );
    const row = rows[0];
    if (!row) return null;
    const resolved: ResolvedKey = { keyId: row.key_id, tenantId: row.tenant_id, tenantStatus: row.status, suspendedFor: row.suspended_for };
    if (row.expires_at) resolved.expiresAt = row.expires_at.getTime();
    return resolved;
  }

  private remember(hash: string, entry: CacheEntry): void {
    this.cache.delete(hash);
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, entry);
  }
}
