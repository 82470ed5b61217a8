import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openRedisCache } from '../../src/cache/cluster-cache.js';
import { RedisCache } from '../../src/cache/redis-cache.js';
import { storeScope, tenantScope } from '../../src/cache/shared-cache.js';
import type { BusMessage, InvalidationBus, RedisBus } from '../../src/cluster/bus.js';
import { openRedis } from '../../src/cluster/redis-connection.js';
import { capturingLogger, deleteKeys, PrivateRedis, SHARED_REDIS_URL, uniquePrefix, until } from './redis.js';

const SCOPES = [tenantScope(3), storeScope(3, 'PRIMARY')];

interface CacheNode {
  cache: RedisCache;
  bus: RedisBus;
  lines: () => { level: number; msg: string }[];
}

const opened: CacheNode[] = [];
const prefixes: string[] = [];
let privateRedis: PrivateRedis | undefined;

async function node(url: string, prefix: string): Promise<CacheNode> {
  const { logger, lines } = capturingLogger();
  const { cache, bus } = await openRedisCache(url, prefix, logger);
  const opened_ = { cache, bus, lines };
  opened.push(opened_);
  return opened_;
}

async function subscribedNodes(url: string, count: number): Promise<CacheNode[]> {
  const prefix = uniquePrefix('cache');
  prefixes.push(prefix);
  const nodes = await Promise.all(Array.from({ length: count }, () => node(url, prefix)));
  await until('every node subscribed', () => nodes.every((n) => n.bus.subscribed));
  return nodes;
}

afterEach(async () => {
  for (const n of opened.splice(0)) {
    await n.cache.close();
    await n.bus.close();
  }
  await privateRedis?.kill();
  privateRedis = undefined;
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(SHARED_REDIS_URL, prefix);
});

describe('RedisCache against a real Redis', () => {
  it('shares entries between nodes, and an invalidation on one reaches the other', async () => {
    const [a, b] = (await subscribedNodes(SHARED_REDIS_URL, 2)) as [CacheNode, CacheNode];
    const miss = await a.cache.lookup(SCOPES, 'role:staff');
    expect(miss?.value).toBeUndefined();
    await miss?.fill('["alice"]', 30);
    expect((await b.cache.lookup(SCOPES, 'role:staff'))?.value).toBe('["alice"]');

    const seen: BusMessage[] = [];
    b.bus.onMessage((m) => seen.push(m));
    await a.cache.invalidate([storeScope(3, 'PRIMARY')]);
    await until('b hears of the new generation', () => seen.some((m) => m.kind === 'generation'));
    expect((await b.cache.lookup(SCOPES, 'role:staff'))?.value).toBeUndefined();
    expect((await a.cache.lookup(SCOPES, 'role:staff'))?.value).toBeUndefined();
  });

  it('a value read before another node invalidated is never found after it', async () => {
    const [a, b] = (await subscribedNodes(SHARED_REDIS_URL, 2)) as [CacheNode, CacheNode];
    const slowReader = await a.cache.lookup(SCOPES, 'user:bob');
    await b.cache.invalidate([tenantScope(3)]);
    await slowReader?.fill('{"stale":true}', 30);
    expect((await a.cache.lookup(SCOPES, 'user:bob'))?.value).toBeUndefined();
    expect((await b.cache.lookup(SCOPES, 'user:bob'))?.value).toBeUndefined();
  });

  it('carries the other message kinds of the bus to every node', async () => {
    const [a, b] = (await subscribedNodes(SHARED_REDIS_URL, 2)) as [CacheNode, CacheNode];
    const seen: BusMessage[] = [];
    b.bus.onMessage((m) => seen.push(m));
    await a.bus.publish({ kind: 'stores', tenantId: 12 });
    await a.bus.publish({ kind: 'tenants' });
    await until('two messages', () => seen.length === 2);
    expect(seen).toEqual([{ kind: 'stores', tenantId: 12 }, { kind: 'tenants' }]);
  });

  it('with Redis gone, lookups say so (read the source), it is logged once, and nothing from before is trusted after', async () => {
    privateRedis = await PrivateRedis.start();
    const [a, b] = (await subscribedNodes(privateRedis.url, 2)) as [CacheNode, CacheNode];
    await (await a.cache.lookup(SCOPES, 'user:carol'))?.fill('{"before":true}', 30);
    expect((await b.cache.lookup(SCOPES, 'user:carol'))?.value).toBe('{"before":true}');

    await privateRedis.kill();
    await until('a notices', () => !a.cache.health().usable);
    const started = performance.now();
    expect(await a.cache.lookup(SCOPES, 'user:carol')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(50);
    expect(a.cache.health()).toEqual({ kind: 'redis', usable: false, subscribed: false });
    // A write while Redis is down cannot invalidate: it must not throw either.
    await a.cache.invalidate([storeScope(3, 'PRIMARY')]);
    await new Promise((r) => setTimeout(r, 600));
    const warnings = a.lines().filter((l) => l.level === 40 && l.msg.includes('unreachable'));
    expect(warnings).toHaveLength(1);

    await privateRedis.start();
    await until('both back', () => a.cache.health().usable && b.cache.health().usable, 10_000);
    await until('both subscribed', () => a.bus.subscribed && b.bus.subscribed, 10_000);
    expect(a.lines().filter((l) => l.level === 30 && l.msg.includes('back'))).toHaveLength(1);
    // A fresh Redis holds nothing from before; the epoch moved on, so nothing written before is trusted.
    expect((await b.cache.lookup(SCOPES, 'user:carol'))?.value).toBeUndefined();
    const refill = await b.cache.lookup(SCOPES, 'user:carol');
    await refill?.fill('{"after":true}', 30);
    expect((await a.cache.lookup(SCOPES, 'user:carol'))?.value).toBe('{"after":true}');
  });

  it('a node that lost its subscription stops trusting its copies of generations until it is back', async () => {
    privateRedis = await PrivateRedis.start();
    const [a, b] = (await subscribedNodes(privateRedis.url, 2)) as [CacheNode, CacheNode];
    await (await a.cache.lookup(SCOPES, 'user:dan'))?.fill('{"old":true}', 30);
    expect((await a.cache.lookup(SCOPES, 'user:dan'))?.value).toBe('{"old":true}');

    // Only the subscriber connections go (a Redis of this test's own: no one else's clients are touched).
    const admin = new Redis(privateRedis.url);
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
    } finally {
      admin.disconnect();
    }
    await until('a unsubscribed', () => !a.bus.subscribed, 2_000);
    // b's message about this is lost on a; a must find out from Redis itself.
    await b.cache.invalidate([storeScope(3, 'PRIMARY')]);
    expect(a.bus.subscribed).toBe(false);
    expect((await a.cache.lookup(SCOPES, 'user:dan'))?.value).toBeUndefined();
    await until('a subscribed again', () => a.bus.subscribed, 5_000);
    expect((await a.cache.lookup(SCOPES, 'user:dan'))?.value).toBeUndefined();
  });

  it('a node that starts while Redis is down serves nothing from the cache, then joins when Redis starts', async () => {
    privateRedis = await PrivateRedis.start();
    const url = privateRedis.url;
    await privateRedis.kill();
    const started = performance.now();
    const lone = await node(url, uniquePrefix('late'));
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(await lone.cache.lookup(SCOPES, 'x')).toBeUndefined();
    await privateRedis.start();
    await until('usable and subscribed', () => lone.cache.health().usable && lone.bus.subscribed, 10_000);
    const lookup = await lone.cache.lookup(SCOPES, 'x');
    expect(lookup?.value).toBeUndefined();
    await lookup?.fill('"v"', 30);
    expect((await lone.cache.lookup(SCOPES, 'x'))?.value).toBe('"v"');
  });

  it('an invalidation whose message could not be published is made good by an epoch bump', async () => {
    // A bus that stays subscribed (copies of generations are trusted) but cannot send for now.
    let canPublish = false;
    const sent: BusMessage[] = [];
    let closedBus = 0;
    const bus: InvalidationBus = {
      subscribed: true,
      publish: async (message) => {
        if (canPublish) sent.push(message);
        return canPublish;
      },
      onMessage: () => {},
      onSubscription: () => {},
      close: async () => void closedBus++,
    };
    const prefix = uniquePrefix('unsent');
    prefixes.push(prefix);
    const redis = openRedis(SHARED_REDIS_URL, 'tessera-test');
    await redis.connect().catch(() => {});
    await until('redis ready', () => redis.status === 'ready');
    const { logger } = capturingLogger();
    const cache = new RedisCache({ redis, bus, prefix, logger, redisLabel: 'test' });
    try {
      await (await cache.lookup(SCOPES, 'user:erin'))?.fill('{"old":true}', 30);
      await cache.invalidate([storeScope(3, 'PRIMARY')]);
      // The INCR worked but no node was told: until one is, the cache is not used.
      expect(await cache.lookup(SCOPES, 'user:erin')).toBeUndefined();
      canPublish = true;
      const after = await cache.lookup(SCOPES, 'user:erin');
      expect(after).toBeDefined();
      expect(after?.value).toBeUndefined();
      expect(sent.some((m) => m.kind === 'generation' && m.scope === 'epoch')).toBe(true);
    } finally {
      await cache.close();
    }
    // The bus was handed to the cache: closing the cache leaves it to its owner.
    expect(closedBus).toBe(0);
  });
});
