import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { type InvalidationBus, LocalBus, RedisBus } from '../cluster/bus.js';
import { redactRedisUrl } from '../cluster/redis-url.js';
import { MemoryCache } from './memory-cache.js';
import type { RedisCache } from './redis-cache.js';
import type { SharedCache } from './shared-cache.js';

/** How long a start waits for Redis before serving from the database (the cache joins in when Redis does). */
const START_WAIT_MS = 1_500;

export interface ClusterCache {
  cache: SharedCache;
  bus: InvalidationBus;
  close(): Promise<void>;
}

export interface ClusterCacheOptions {
  /** `cache.redis`; without it the cache is this process's memory and the bus reaches this node only. */
  redisUrl: string | undefined;
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
  const close = async () => {
    await cache.close();
    await bus.close();
  };
  return { cache, bus, close };
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
  // Loaded here, not with this module: a node without `cache.redis` never loads ioredis.
  const [{ connectWithin, openRedis }, { RedisCache }] = await Promise.all([
    import('../cluster/redis-connection.js'),
    import('./redis-cache.js'),
  ]);
  const redis = openRedis(url, 'tessera-cache');
  const bus = new RedisBus(openRedis(url, 'tessera-bus'), `${prefix}invalidate`, redis, logger);
  const cache = new RedisCache({ redis, bus, prefix, logger, redisLabel: redactRedisUrl(url) });
  await Promise.all([connectWithin(redis, START_WAIT_MS), bus.start()]);
  return { cache, bus };
}
