import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisCache } from '../../src/cache/redis-cache.js';
import { storeScope, tenantScope } from '../../src/cache/shared-cache.js';
import type {
  BusListener,
  BusMessage,
  InvalidationBus,
  SubscriptionListener,
} from '../../src/cluster/bus.js';
import { openRedis } from '../../src/cluster/redis-connection.js';
import { capturingLogger, deleteKeys, SHARED_REDIS_URL, uniquePrefix } from './redis.js';

const SCOPES = [tenantScope(4), storeScope(4, 'PRIMARY')];

/**
 * A bus whose deliveries the test orders by hand. Over Redis, a message travels on the subscriber connection
 * and an INCR on the command connection, so a node can hear of an older generation after a newer one was
 * made whose message reached it before its subscription did: the ordering this file replays, exactly.
 */
class HandDeliveredBus implements InvalidationBus {
  private readonly listeners: BusListener[] = [];
  private readonly subscriptionListeners: SubscriptionListener[] = [];
  private isSubscribed = true;
  readonly published: BusMessage[] = [];

  get subscribed(): boolean {
    return this.isSubscribed;
  }

  async publish(message: BusMessage): Promise<boolean> {
    this.published.push(message);
    return true;
  }

  deliver(message: BusMessage): void {
    if (this.isSubscribed) for (const listener of this.listeners) listener(message);
  }

  setSubscribed(subscribed: boolean): void {
    this.isSubscribed = subscribed;
    for (const listener of this.subscriptionListeners) listener(subscribed);
  }

  onMessage(listener: BusListener): void {
    this.listeners.push(listener);
  }

  onSubscription(listener: SubscriptionListener): void {
    this.subscriptionListeners.push(listener);
  }

  async close(): Promise<void> {}
}

const caches: RedisCache[] = [];
const prefixes: string[] = [];

async function cacheOn(prefix: string, bus: InvalidationBus): Promise<RedisCache> {
  const redis = openRedis(SHARED_REDIS_URL, 'tessera-test');
  await redis.connect();
  const cache = new RedisCache({
    redis,
    bus,
    prefix,
    logger: capturingLogger().logger,
    redisLabel: 'test',
  });
  caches.push(cache);
  return cache;
}

afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close();
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(SHARED_REDIS_URL, prefix);
});

describe('RedisCache and messages that arrive out of order', () => {
  it('a message older than the newest generation, heard just after the subscription came back, does not pin the node to it', async () => {
    const prefix = uniquePrefix('ordering');
    prefixes.push(prefix);
    const busA = new HandDeliveredBus();
    const busB = new HandDeliveredBus();
    const busC = new HandDeliveredBus();
    const a = await cacheOn(prefix, busA);
    const b = await cacheOn(prefix, busB);
    const c = await cacheOn(prefix, busC);

    busA.setSubscribed(false);
    await b.invalidate([tenantScope(4)]); // generation 1; its message is still on its way to a
    await c.invalidate([tenantScope(4)]); // generation 2; sent while a was not subscribed: a never hears it
    const [older, newer] = [busB.published[0], busC.published[0]];
    expect(older).toEqual({ kind: 'generation', scope: tenantScope(4), generation: 1 });
    expect(newer).toEqual({ kind: 'generation', scope: tenantScope(4), generation: 2 });
    busA.setSubscribed(true);
    busA.deliver(older as BusMessage);

    const miss = await c.lookup(SCOPES, 'user:erin');
    expect(miss?.value).toBeUndefined();
    await miss?.fill('{"erin":true}', 30);
    // On generation 1, a would never find what every other node reads and writes on generation 2.
    expect((await a.lookup(SCOPES, 'user:erin'))?.value).toBe('{"erin":true}');

    // And a newer message still moves a on, as before.
    await b.invalidate([tenantScope(4)]);
    busA.deliver(busB.published[1] as BusMessage);
    expect((await a.lookup(SCOPES, 'user:erin'))?.value).toBeUndefined();
  });

  it("a node's own INCR answered after its subscription came back is not trusted over what it missed meanwhile", async () => {
    const prefix = uniquePrefix('ordering');
    prefixes.push(prefix);
    const busA = new HandDeliveredBus();
    const busB = new HandDeliveredBus();
    const a = await cacheOn(prefix, busA);
    const b = await cacheOn(prefix, busB);

    busA.setSubscribed(false);
    const ownInvalidation = a.invalidate([tenantScope(4)]); // INCR sent while not subscribed
    busA.setSubscribed(true); // the subscription comes back before the answer is read
    await ownInvalidation;
    await b.invalidate([tenantScope(4)]); // generation 2, whose message a never gets
    const miss = await b.lookup(SCOPES, 'user:frank');
    await miss?.fill('{"frank":true}', 30);
    expect((await a.lookup(SCOPES, 'user:frank'))?.value).toBe('{"frank":true}');
  });
});
