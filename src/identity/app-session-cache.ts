/** Past this many entries the cache starts again empty: a flood of sessions cannot grow a node's memory. */
const MAX_ENTRIES = 10_000;

interface Entry<T> {
  value: T;
  readAt: number;
}

/**
 * Sessions a node read from the database a moment ago, by token hash, each reused for `ttlMs`. Only found
 * sessions are kept: an unknown token is asked of the database each time, so guessing fills nothing.
 */
export class RecentSessions<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.readAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, readAt: this.now() });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry `matches` picks (a user's sessions ended, one ended by id). */
  forget(matches: (value: T) => boolean): void {
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }
}
