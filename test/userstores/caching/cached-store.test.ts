import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryCache } from '../../../src/cache/memory-cache.js';
import { CachedUserStore } from '../../../src/userstores/caching/cached-store.js';
import type { StoreSchema } from '../../../src/userstores/sql/sql-schema.js';
import { primaryStore, SqlUserStore } from '../../../src/userstores/sql/sql-store.js';
import type { UserStore } from '../../../src/userstores/types.js';
import { clearUserTables, type ServerDatabase, serverDatabase } from '../helpers.js';

const ACME = 1;

describe('CachedUserStore over a PRIMARY store', () => {
  let server: ServerDatabase;
  let inner: UserStore;
  let cache: MemoryCache;
  let store: CachedUserStore;

  beforeAll(async () => {
    server = await serverDatabase('sqlite', { [ACME]: 'acme.com' });
  });
  afterAll(async () => {
    await server?.dispose();
  });
  beforeEach(async () => {
    await clearUserTables(server.database.db);
    inner = primaryStore(server.database.db, ACME);
    cache = new MemoryCache();
    store = new CachedUserStore(inner, ACME, cache);
    await store.addRole('staff');
    await store.addUser({ username: 'alice', password: 'alice-password-1', roles: ['staff'] });
  });

  it('answers repeated lookups from the cache, unknown names included', async () => {
    const getUser = vi.spyOn(inner, 'getUser');
    const getRole = vi.spyOn(inner, 'getRole');
    const listRoles = vi.spyOn(inner, 'listRoles');
    for (let i = 0; i < 3; i++) {
      expect((await store.getUser('alice'))?.roles).toEqual(['staff']);
      expect(await store.getUser('nobody')).toBeUndefined();
      expect((await store.getRole('staff'))?.users).toEqual(['alice']);
      expect(await store.listRoles({ limit: 10, offset: 0 })).toContain('staff');
    }
    expect(getUser).toHaveBeenCalledTimes(2);
    expect(getRole).toHaveBeenCalledTimes(1);
    expect(listRoles).toHaveBeenCalledTimes(1);
  });

  it('every write drops what was cached, so the next lookup reads the store', async () => {
    expect((await store.getUser('alice'))?.roles).toEqual(['staff']);
    await store.addRole('auditors');
    expect(await store.listRoles({ limit: 10, offset: 0 })).toContain('auditors');
    await store.setUserRoles('alice', ['auditors']);
    expect((await store.getUser('alice'))?.roles).toEqual(['auditors']);
    expect((await store.getRole('staff'))?.users).toEqual([]);
    await store.addUser({ username: 'bob', password: 'bob-password-1' });
    expect((await store.getUser('bob'))?.username).toBe('bob');
    await store.deleteUser('bob');
    expect(await store.getUser('bob')).toBeUndefined();
    await store.deleteRole('staff');
    expect(await store.getRole('staff')).toBeUndefined();
  });

  it('a write that fails still invalidates; authentication always asks the store', async () => {
    expect((await store.getUser('alice'))?.username).toBe('alice');
    const invalidate = vi.spyOn(cache, 'invalidate');
    await expect(store.addUser({ username: 'alice', password: 'again-password-1' })).rejects.toThrow();
    expect(invalidate).toHaveBeenCalledTimes(1);

    const authenticate = vi.spyOn(inner, 'authenticate');
    expect((await store.authenticate('alice', 'alice-password-1'))?.roles).toEqual(['staff']);
    await store.setPassword('alice', 'alice-password-2');
    expect(await store.authenticate('alice', 'alice-password-1')).toBeUndefined();
    expect((await store.authenticate('alice', 'alice-password-2'))?.username).toBe('alice');
    expect(authenticate).toHaveBeenCalledTimes(3);
  });
});

describe('two stores of one tenant on one database', () => {
  let server: ServerDatabase;

  beforeAll(async () => {
    server = await serverDatabase('sqlite', { [ACME]: 'acme.com' });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a write through one is seen through the other (they share the rows)', async () => {
    const cache = new MemoryCache();
    const one = new CachedUserStore(primaryStore(server.database.db, ACME), ACME, cache);
    const other = new CachedUserStore(
      new SqlUserStore({
        // The same tables as PRIMARY: what a second store on the same database would see.
        db: server.database.db as unknown as Kysely<StoreSchema>,
        tenantId: ACME,
        domain: 'ALIAS',
        kind: 'jdbc',
        readOnly: false,
      }),
      ACME,
      cache,
    );
    expect(await other.getUser('erin')).toBeUndefined();
    await one.addUser({ username: 'erin', password: 'erin-password-1' });
    expect((await other.getUser('erin'))?.username).toBe('erin');
  });
});
