/**
 * Remembers, for `ttlMs`, what `lookup` answered for a key (an answer of `undefined` too), and shares one
 * lookup among the callers that ask while it runs. For the request path of tenant apps, which would
 * otherwise read the tenant's row for every request: a tenant created, deleted or deactivated is seen at
 * most `ttlMs` late, as other nodes see such changes through the tenant follower's own period anyway.
 * At most `maxEntries` are kept (the oldest go first), so requests for made-up domains cannot grow it.
 */
export class RecentLookups<K, V> {
  private readonly answers = new Map<K, { value: V | undefined; until: number }>();
  private readonly running = new Map<K, Promise<V | undefined>>();
  /** Moved by `clear()`: a lookup that began before it may have read what changed, and is not kept. */
  private generation = 0;

  constructor(
    private readonly lookup: (key: K) => Promise<V | undefined>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: K): Promise<V | undefined> {
    const known = this.answers.get(key);
    if (known && known.until > this.now()) return known.value;
    const running = this.running.get(key);
    if (running) return running;
    const generation = this.generation;
    const asked = this.lookup(key).then(
      (value) => {
        if (this.running.get(key) === asked) this.running.delete(key);
        if (generation === this.generation) this.remember(key, value);
        return value;
      },
      (error: unknown) => {
        if (this.running.get(key) === asked) this.running.delete(key);
        throw error;
      },
    );
    this.running.set(key, asked);
    return asked;
  }

  /** Forgets every answer (this node changed a tenant: its own requests see the change at once). */
  clear(): void {
    this.generation += 1;
    this.answers.clear();
    // Callers after this one must not join a lookup that may predate the change.
    this.running.clear();
  }

  private remember(key: K, value: V | undefined): void {
    this.answers.delete(key);
    if (this.answers.size >= this.maxEntries) {
      const oldest = this.answers.keys().next();
      if (!oldest.done) this.answers.delete(oldest.value);
    }
    this.answers.set(key, { value, until: this.now() + this.ttlMs });
  }
}
