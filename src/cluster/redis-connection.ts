import { Redis } from 'ioredis';

/** How long one connection attempt may take: a dead Redis must not hold a request or a start up. */
const CONNECT_TIMEOUT_MS = 1_000;
/** Reconnection backs off up to this, and never gives up: Redis coming back is picked up on its own. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * A Redis connection for the cache: connects when asked (`lazyConnect`), fails a command at once while
 * disconnected (no offline queue, one retry at most) so that the caller reads the database instead of
 * waiting, and reconnects in the background.
 */
export function openRedis(url: string, connectionName: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    autoResubscribe: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
  });
  // Connection errors are reported through the status events the owner listens to; without a listener,
  // ioredis would print each one.
  redis.on('error', () => {});
  return redis;
}

/** Starts connecting; waits at most `ms` for it, since the cache works (by not being used) while it cannot. */
export async function connectWithin(redis: Redis, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.connect().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
