/**
 * The cache every node of a cluster shares (Redis) or, for a lone node, keeps in its own memory.
 *
 * Entries live under the generations of their scopes (a tenant, a store of a tenant): `invalidate` moves a
 * scope to its next generation, so every entry read before the change is never read again on any node,
 * without finding or deleting it (it expires on its own). A reader sees the generation before it reads the
 * database and fills the cache under that generation only, so a value read before a concurrent change can
 * never be found after it.
 */
export interface SharedCache {
  readonly kind: 'memory' | 'redis';
  /**
   * Looks `key` up under the scopes' current generations. Undefined when the cache cannot be trusted right
   * now (Redis unreachable): the caller reads the database and fills nothing.
   */
  lookup(scopes: readonly string[], key: string): Promise<CacheLookup | undefined>;
  /** Moves every scope to a new generation, on every node; never throws (a failure is made up for later). */
  invalidate(scopes: readonly string[]): Promise<void>;
  health(): CacheHealth;
  close(): Promise<void>;
}

export interface CacheLookup {
  /** The cached text, or undefined on a miss. */
  value: string | undefined;
  /** Stores a value read from the source under the generation this lookup saw; never throws. */
  fill(value: string, ttlSeconds: number): Promise<void>;
}

export interface CacheHealth {
  kind: 'memory' | 'redis';
  /** Whether lookups use the cache now; false while Redis is unreachable (every read goes to the database). */
  usable: boolean;
  /** Redis only: the invalidation channel is subscribed, so local copies of generations can be trusted. */
  subscribed?: boolean;
}

/** The scope of everything a tenant's stores hold: invalidated by every write through any of them, and when the tenant is deleted. */
export function tenantScope(tenantId: number): string {
  return `tenant:${tenantId}`;
}

/** The scope of one store of a tenant: invalidated when its definition changes (it may now name another database). */
export function storeScope(tenantId: number, domain: string): string {
  return `store:${tenantId}:${domain.toUpperCase()}`;
}
