import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../src/cache/memory-cache.js';
import { storeScope, tenantScope } from '../../src/cache/shared-cache.js';

const TENANT = tenantScope(7);
const STORE = storeScope(7, 'primary');

describe('MemoryCache', () => {
  it('misses, is filled, hits; a fill made before an invalidation is never found after it', async () => {
    const cache = new MemoryCache();
    const first = await cache.lookup([TENANT, STORE], 'user:alice');
    expect(first.value).toBeUndefined();
    await first.fill('{"roles":["a"]}', 30);
    expect((await cache.lookup([TENANT, STORE], 'user:alice')).value).toBe('{"roles":["a"]}');

    // A reader saw the old generation, then a writer moved on before the reader filled.
    const slowReader = await cache.lookup([TENANT, STORE], 'user:bob');
    await cache.invalidate([STORE]);
    await slowReader.fill('{"roles":["stale"]}', 30);
    expect((await cache.lookup([TENANT, STORE], 'user:bob')).value).toBeUndefined();
    expect((await cache.lookup([TENANT, STORE], 'user:alice')).value).toBeUndefined();
  });

  it('invalidating a tenant drops every store of it and no other tenant', async () => {
    const cache = new MemoryCache();
    const other = [tenantScope(8), storeScope(8, 'PRIMARY')];
    await (await cache.lookup([TENANT, STORE], 'k')).fill('mine', 30);
    await (await cache.lookup([TENANT, storeScope(7, 'LDAP1')], 'k')).fill('mine too', 30);
    await (await cache.lookup(other, 'k')).fill('theirs', 30);
    await cache.invalidate([TENANT]);
    expect((await cache.lookup([TENANT, STORE], 'k')).value).toBeUndefined();
    expect((await cache.lookup([TENANT, storeScope(7, 'LDAP1')], 'k')).value).toBeUndefined();
    expect((await cache.lookup(other, 'k')).value).toBe('theirs');
    expect(cache.size).toBe(1);
  });

  it('entries expire after their TTL and the oldest goes beyond the size bound', async () => {
    let now = 1_000_000;
    const cache = new MemoryCache(2, () => now);
    await (await cache.lookup([STORE], 'a')).fill('A', 10);
    await (await cache.lookup([STORE], 'b')).fill('B', 10);
    await (await cache.lookup([STORE], 'c')).fill('C', 10);
    expect(cache.size).toBe(2);
    expect((await cache.lookup([STORE], 'a')).value).toBeUndefined();
    expect((await cache.lookup([STORE], 'c')).value).toBe('C');
    now += 10_001;
    expect((await cache.lookup([STORE], 'c')).value).toBeUndefined();
    expect(cache.health()).toEqual({ kind: 'memory', usable: true });
  });
});
