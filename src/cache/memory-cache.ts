import type { CacheHealth, CacheLookup, SharedCache } from './shared-cache.js';

interface Entry {
  value: string;
  expiresAt: number;
  scopes: readonly string[];
}

/** Enough for the hot users and roles of a node; the oldest entry goes first beyond it. */
const DEFAULT_MAX_ENTRIES = 50_000;

/**
 * The cache of a node without Redis: entries and generations in this process only. Correct for one node; in
 * a cluster without Redis another node's change is seen here only once the entry's TTL has run out.
 */
export class MemoryCache implements SharedCache {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  async lookup(scopes: readonly string[], key: string): Promise<CacheLookup> {
    const fullKey = `${scopes.map((s) => `${s}#${this.generations.get(s) ?? 0}`).join('|')}|${key}`;
    const entry = this.entries.get(fullKey);
    let value: string | undefined;
    if (entry !== undefined) {
      if (entry.expiresAt > this.now()) value = entry.value;
      else this.entries.delete(fullKey);
    }
    return {
      value,
      fill: async (text, ttlSeconds) => {
        // Re-inserted at the end: the Map's order is the eviction order.
        this.entries.delete(fullKey);
        this.entries.set(fullKey, { value: text, expiresAt: this.now() + ttlSeconds * 1000, scopes });
        while (this.entries.size > this.maxEntries) {
          const oldest = this.entries.keys().next().value;
          if (oldest === undefined) break;
          this.entries.delete(oldest);
        }
      },
    };
  }

  async invalidate(scopes: readonly string[]): Promise<void> {
    for (const scope of scopes) {
      this.generations.set(scope, (this.generations.get(scope) ?? 0) + 1);
      // Entries of older generations can never be found again: free them now rather than at eviction.
      for (const [key, entry] of this.entries) if (entry.scopes.includes(scope)) this.entries.delete(key);
    }
  }

  health(): CacheHealth {
    return { kind: 'memory', usable: true };
  }

  /** How many entries are held (tests). */
  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
