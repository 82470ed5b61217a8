import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { InvalidationBus } from '../cluster/bus.js';
import type { CacheHealth, CacheLookup, SharedCache } from './shared-cache.js';

/**
 * A scope every key carries. A node moves it on when it gets Redis back after losing it, so that nothing
 * cached before an outage is trusted after it: writes made meanwhile could not invalidate anything.
 */
const EPOCH_SCOPE = 'epoch';
const EPOCH_RETRY_MS = 1_000;

export interface RedisCacheOptions {
  redis: Redis;
  bus: InvalidationBus;
  /** Prefixes every key, so that several clusters (or test runs) can share one Redis. */
  prefix: string;
  logger: Logger;
  redisLabel: string;
}

/**
 * The cluster's cache in Redis. Values live in Redis only; each node keeps local copies of the scopes'
 * generations, updated by the bus, and trusted only while the bus is subscribed (otherwise it reads them
 * from Redis with every lookup). While Redis cannot be reached, lookups say so and callers read the database.
 */
export class RedisCache implements SharedCache {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly bus: InvalidationBus;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly redisLabel: string;
  /**
   * The highest generation of each scope seen in this subscribed session. Only an `anchored` copy is
   * trusted: one that a read of Redis (or this node's own INCR) begun within the session has confirmed.
   * A message alone is not enough: it may be older than an INCR whose message came before the subscription
   * did (messages and INCRs travel on different connections), so a node that seeded its copy from it
   * would stay on a generation every other node has left.
   */
  private readonly generations = new Map<string, { generation: number; anchored: boolean }>();
  /** Moves on whenever the subscription comes or goes: a read begun in another session stores nothing locally. */
  private session = 0;
  private epochBumpOwed = false;
  private epochBump: Promise<boolean> | undefined;
  private down = false;
  private closing = false;

  constructor(options: RedisCacheOptions) {
    this.redis = options.redis;
    this.bus = options.bus;
    this.prefix = options.prefix;
    this.logger = options.logger;
    this.redisLabel = options.redisLabel;
    this.bus.onSubscription(() => {
      this.session++;
      this.generations.clear();
    });
    this.bus.onMessage((message) => {
      if (message.kind === 'generation') this.learn(message.scope, message.generation, false);
    });
    this.redis.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.epochBumpOwed = true;
      this.logger.info({ redis: this.redisLabel }, 'cache: Redis is back; the cache is used again');
      void this.settleEpoch();
    });
    this.redis.on('close', () => this.wentDown());
  }

  get usable(): boolean {
    return this.redis.status === 'ready' && !this.closing;
  }

  async lookup(scopes: readonly string[], key: string): Promise<CacheLookup | undefined> {
    if (!this.usable) return undefined;
    if (!(await this.settleEpoch())) return undefined;
    try {
      const allScopes = [EPOCH_SCOPE, ...scopes];
      const generations = await this.currentGenerations(allScopes);
      const fullKey = `${this.prefix}v:${allScopes.map((s, i) => `${s}#${generations[i]}`).join('|')}|${key}`;
      const value = await this.redis.get(fullKey);
      return {
        value: value ?? undefined,
        fill: async (text, ttlSeconds) => {
          await this.redis.set(fullKey, text, 'EX', ttlSeconds).catch(() => {});
        },
      };
    } catch (error) {
      this.logger.debug({ reason: String(error) }, 'cache: lookup failed; reading the source');
      return undefined;
    }
  }

  async invalidate(scopes: readonly string[]): Promise<void> {
    for (const scope of scopes) {
      try {
        const trusted = this.bus.subscribed;
        const session = this.session;
        const generation = await this.redis.incr(this.generationKey(scope));
        // As in currentGenerations: an INCR sent before the subscription came back may be answered after it,
        // by then older than another node's INCR whose message this node never heard.
        if (trusted && session === this.session) this.learn(scope, generation, true);
        // Subscribed nodes trust their copies of the generations: one that never hears of this one keeps
        // serving what was cached before it, so an unsent message is as much a failure as a failed INCR.
        if (!(await this.bus.publish({ kind: 'generation', scope, generation })))
          throw new Error('the invalidation message could not be published');
      } catch (error) {
        // Nothing cached can be trusted until every node's keys move on: owed until Redis answers again
        // (paid on reconnection, by the next lookup, or by this retry, whichever comes first).
        this.epochBumpOwed = true;
        this.logger.debug({ reason: String(error), scope }, 'cache: invalidation failed; epoch bump owed');
        if (scope !== EPOCH_SCOPE) setTimeout(() => void this.retryEpochBump(), EPOCH_RETRY_MS).unref();
      }
    }
  }

  health(): CacheHealth {
    return { kind: 'redis', usable: this.usable, subscribed: this.bus.subscribed };
  }

  /** Leaves the bus open: it was given, not created, here; whoever opened it closes it (openClusterCache). */
  async close(): Promise<void> {
    this.closing = true;
    this.redis.disconnect();
  }

  /** The scopes' generations: local copies while subscribed, else (or when unknown) read from Redis. */
  private async currentGenerations(scopes: readonly string[]): Promise<number[]> {
    const trusted = this.bus.subscribed;
    const session = this.session;
    const known = scopes.map((s) => {
      const copy = trusted ? this.generations.get(s) : undefined;
      return copy?.anchored === true ? copy.generation : undefined;
    });
    const missing = scopes.filter((_, i) => known[i] === undefined);
    if (missing.length === 0) return known as number[];
    const fetched = await this.redis.mget(missing.map((s) => this.generationKey(s)));
    const byScope = new Map(missing.map((s, i) => [s, Number(fetched[i] ?? 0)]));
    // Only a read begun and ended in one subscribed session is as new as the messages it will receive; its
    // answer may still be older than a message heard while it travelled, hence the copy read back.
    if (trusted && session === this.session && this.bus.subscribed) {
      for (const [scope, generation] of byScope) this.learn(scope, generation, true);
      return scopes.map((s, i) => known[i] ?? (this.generations.get(s)?.generation as number));
    }
    return scopes.map((s, i) => known[i] ?? (byScope.get(s) as number));
  }

  /**
   * Generations only move forward within a session: an older answer arriving late changes nothing. A read
   * of Redis anchors the copy; a message only raises it.
   */
  private learn(scope: string, generation: number, anchor: boolean): void {
    if (!this.bus.subscribed) return;
    const copy = this.generations.get(scope);
    this.generations.set(scope, {
      generation: Math.max(copy?.generation ?? -1, generation),
      anchored: anchor || copy?.anchored === true,
    });
  }

  /** Pays an owed epoch bump (once, however many lookups wait for it); false while it cannot be paid. */
  private settleEpoch(): Promise<boolean> {
    if (this.epochBump !== undefined) return this.epochBump;
    if (!this.epochBumpOwed) return Promise.resolve(true);
    this.epochBump = (async () => {
      this.epochBumpOwed = false;
      await this.invalidate([EPOCH_SCOPE]);
      return !this.epochBumpOwed;
    })().finally(() => {
      this.epochBump = undefined;
    });
    return this.epochBump;
  }

  private async retryEpochBump(): Promise<void> {
    if (this.closing || !this.usable || (await this.settleEpoch())) return;
    setTimeout(() => void this.retryEpochBump(), EPOCH_RETRY_MS).unref();
  }

  private wentDown(): void {
    if (this.closing || this.down) return;
    this.down = true;
    this.generations.clear();
    this.session++;
    this.logger.warn(
      { redis: this.redisLabel },
      'cache: Redis is unreachable; every read goes to the database until it is back',
    );
  }

  private generationKey(scope: string): string {
    return `${this.prefix}gen:${scope}`;
  }
}
