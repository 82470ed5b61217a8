import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Schema } from '../db/schema.js';
import type { StoreDefinition } from '../userstores/store-file.js';
import type { UserStore } from '../userstores/types.js';
import { type InvalidationBus, LocalBus, RedisBus } from './bus.js';
import { CachedUserStore } from './cached-store.js';
import { MemoryCache } from './memory-cache.js';
import { RedisCache } from './redis-cache.js';
import { connectWithin, openRedis, redactRedisUrl } from './redis-connection.js';
import type { SharedCache } from './shared-cache.js';
import { SharedStoreDefinitions } from './store-definitions.js';

/** How long a start waits for Redis before serving from the database (the cache joins in when Redis does). */
const START_WAIT_MS = 1_500;

/** What the user store manager asks of the cluster: the cache around each store, and shared definitions. */
export interface UserStoreSharing {
  /** The store as callers get it. */
  decorate(tenantId: number, store: UserStore): UserStore;
  /** Before a tenant's folder is read: brings it in line with the shared definitions. Never throws. */
  reconcile(tenantId: number, folder: string): Promise<void>;
  /** A store created through the API, recorded for every node; CONFLICT when one already has it. */
  created(tenantId: number, definition: StoreDefinition): Promise<void>;
  /** A store removed through the API. */
  removed(tenantId: number, domain: string): Promise<void>;
}

export interface ClusterCache {
  cache: SharedCache;
  bus: InvalidationBus;
  sharing: UserStoreSharing;
  definitions: SharedStoreDefinitions;
  close(): Promise<void>;
}

export interface ClusterCacheOptions {
  /** `cache.redis`; without it the cache is this process's memory and the bus reaches this node only. */
  redisUrl: string | undefined;
  db: Kysely<Schema>;
  /**
   * Names the cluster in Redis keys and the channel: the nodes of one database share them, others do not.
   * So every node must name the database alike (the same `database.url`, password aside).
   */
  databaseLabel: string;
  logger: Logger;
  /** Where the `tessera_cache_usable` gauge goes. */
  metrics?: Registry;
}

/** The Redis key prefix (and channel prefix) of the cluster on a database: its nodes share it, others do not. */
export function clusterKeyPrefix(databaseLabel: string): string {
  return `tessera:${createHash('sha256').update(databaseLabel).digest('hex').slice(0, 16)}:`;
}

/** Store kinds whose data only Tessera changes: anything else (a directory others edit) is not cached. */
const CACHED_KINDS: ReadonlySet<UserStore['kind']> = new Set(['primary', 'jdbc']);

export async function openClusterCache(options: ClusterCacheOptions): Promise<ClusterCache> {
  const logger = options.logger.child({ component: 'cache' });
  const prefix = clusterKeyPrefix(options.databaseLabel);
  let cache: SharedCache;
  let bus: InvalidationBus;
  if (options.redisUrl === undefined) {
    cache = new MemoryCache();
    bus = new LocalBus();
  } else {
    ({ cache, bus } = await openRedisCache(options.redisUrl, prefix, logger));
    logger.info(
      { redis: redactRedisUrl(options.redisUrl), prefix, usable: cache.health().usable },
      'cache: using Redis',
    );
  }
  if (options.metrics !== undefined) {
    const health = () => cache.health();
    new Gauge({
      name: 'tessera_cache_usable',
      help: 'Whether reads use the shared cache (0 while Redis is unreachable: they go to the database)',
      registers: [options.metrics],
      collect() {
        this.set(health().usable ? 1 : 0);
      },
    });
  }
  const definitions = new SharedStoreDefinitions(options.db, bus, cache, logger);
  const sharing = storeSharing(cache, definitions);
  const close = async () => {
    await cache.close();
    await bus.close();
  };
  return { cache, bus, sharing, definitions, close };
}

/** The manager's view of the cluster: the cache around the stores it serves, and the shared definitions. */
export function storeSharing(cache: SharedCache, definitions: SharedStoreDefinitions): UserStoreSharing {
  // One wrapper per store, for as long as the store lives: callers compare stores by identity.
  const wrappers = new WeakMap<UserStore, UserStore>();
  return {
    decorate: (tenantId, store) => {
      if (!CACHED_KINDS.has(store.kind)) return store;
      let wrapper = wrappers.get(store);
      if (wrapper === undefined) {
        wrapper = new CachedUserStore(store, tenantId, cache);
        wrappers.set(store, wrapper);
      }
      return wrapper;
    },
    reconcile: (tenantId, folder) => definitions.reconcile(tenantId, folder),
    created: (tenantId, definition) => definitions.created(tenantId, definition),
    removed: (tenantId, domain) => definitions.removed(tenantId, domain),
  };
}

/**
 * The Redis cache and its bus: keys under `prefix`, messages on `<prefix>invalidate`. Waits a moment for
 * Redis; when it does not answer, both keep connecting in the background.
 */
export async function openRedisCache(
  url: string,
  prefix: string,
  logger: Logger,
): Promise<{ cache: RedisCache; bus: RedisBus }> {
  const redis = openRedis(url, 'tessera-cache');
  const bus = new RedisBus(url, `${prefix}invalidate`, redis, logger);
  const cache = new RedisCache({ redis, bus, prefix, logger, redisLabel: redactRedisUrl(url) });
  await Promise.all([connectWithin(redis, START_WAIT_MS), bus.start()]);
  return { cache, bus };
}
