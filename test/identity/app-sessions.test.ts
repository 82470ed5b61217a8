import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { AppSessions } from '../../src/identity/app-sessions.js';
import type { Principal } from '../../src/identity/authenticator.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { migrateTo } from '../../src/releases/migrator.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';

const ACME = 7;
const CLIENT = { address: '10.0.0.9', userAgent: 'test' };

function principal(username: string, store = 'PRIMARY'): Principal {
  return {
    tenantId: ACME,
    tenantDomain: 'acme.com',
    store,
    username,
    qualifiedName: `${username}@acme.com`,
    roles: ['staff'],
    isTenantAdmin: false,
    isSuperAdmin: false,
  };
}

/**
 * AppSessions' own rules, with a clock the test moves and no node cache (every read goes to the database);
 * the HTTP side and the engines are covered by test/server/app-sign-in.test.ts.
 */
describe('AppSessions', () => {
  let scratch: ScratchDatabase;
  let database: Database;
  let now = 1_000_000;
  /** What the store answers for each user: roles, or absent (deleted). */
  const users = new Map<string, string[] | 'unknown'>();
  const recheckCalls: string[] = [];

  beforeAll(async () => {
    scratch = await scratchDatabase('sqlite', 'app-sessions');
    database = await openDatabase(scratch.url, scratch.home);
    await migrateTo(database, CURRENT_RELEASE);
    await database.db
      .insertInto('tenants')
      .values({ id: ACME, domain: 'acme.com', admin_username: 'admin', active: 1, created_at: 0 })
      .execute();
  });

  afterAll(async () => {
    await database?.close();
    await scratch?.drop();
  });

  function sessions(options: { maxPerUser?: number } = {}): AppSessions {
    return new AppSessions(
      database.db,
      async (_tenant, _store, username) => {
        recheckCalls.push(username);
        return users.get(username);
      },
      { idleSeconds: 600, maxSeconds: 3600, recheckSeconds: 60, cacheMs: 0, ...options },
      () => now,
    );
  }

  it('keeps at most maxPerUser sessions per user, ending the oldest (names compared without case)', async () => {
    const store = sessions({ maxPerUser: 2 });
    const first = await store.create(principal('erin'), CLIENT);
    now += 1;
    const second = await store.create(principal('Erin'), CLIENT);
    now += 1;
    const third = await store.create(principal('erin'), CLIENT);
    expect(await store.resolve(first.token, ACME)).toBeUndefined();
    expect(await store.resolve(second.token, ACME)).toMatchObject({ username: 'Erin', roles: ['staff'] });
    expect(await store.resolve(third.token, ACME)).toMatchObject({ username: 'erin' });
    expect((await store.list(ACME, { store: 'primary', username: 'ERIN' })).map((s) => s.id)).toEqual([
      third.id,
      second.id,
    ]);
  });

  it('looks the user up again once a recheck period passed: new roles taken, a deleted user signed out', async () => {
    const store = sessions();
    users.set('frank', ['staff']);
    const { token } = await store.create(principal('frank'), CLIENT);
    now += 30_000;
    await store.resolve(token, ACME);
    expect(recheckCalls).not.toContain('frank');
    users.set('frank', ['staff', 'editors']);
    now += 31_000;
    expect(await store.resolve(token, ACME)).toMatchObject({ roles: ['staff', 'editors'] });
    expect(recheckCalls.filter((name) => name === 'frank')).toHaveLength(1);
    // A store that cannot answer keeps the session and asks again next time.
    users.set('frank', 'unknown');
    now += 61_000;
    expect(await store.resolve(token, ACME)).toMatchObject({ roles: ['staff', 'editors'] });
    users.delete('frank');
    expect(await store.resolve(token, ACME)).toBeUndefined();
    const left = await database.db.selectFrom('app_sessions').select('username').execute();
    expect(left.map((row) => row.username)).not.toContain('frank');
  });

  it('ends a session idle for the idle timeout, and any session at its absolute end however busy', async () => {
    const store = sessions();
    users.set('gina', ['staff']);
    const idle = await store.create(principal('gina'), CLIENT);
    now += 600_000;
    expect(await store.resolve(idle.token, ACME)).toBeUndefined();
    const busy = await store.create(principal('gina'), CLIENT);
    for (let i = 0; i < 12; i++) {
      now += 300_000;
      const alive = await store.resolve(busy.token, ACME);
      // Used every 5 minutes, never idle: alive until its hour is up.
      expect(alive === undefined, `after ${(i + 1) * 5} min`).toBe(i >= 11);
    }
  });

  it("answers only in the session's own tenant", async () => {
    const store = sessions();
    users.set('hank', ['staff']);
    const { token } = await store.create(principal('hank'), CLIENT);
    expect(await store.resolve(token, ACME + 1)).toBeUndefined();
    expect(await store.resolve(token, ACME)).toMatchObject({ username: 'hank' });
  });

  it('prunes sessions that ended, idle or past their end, in batches, and keeps the live ones', async () => {
    await database.db.deleteFrom('app_sessions').execute();
    const store = sessions({ maxPerUser: 100 });
    users.set('ivan', ['staff']);
    const walkedAway = [];
    for (let i = 0; i < 3; i++) walkedAway.push(await store.create(principal('ivan'), CLIENT));
    now += 590_000;
    const live = await store.create(principal('ivan'), CLIENT);
    // The first three are idle past the 10-minute timeout; the fourth was made 20 s ago.
    now += 20_000;
    expect(await store.pruneEnded(now, 2)).toBe(2);
    expect(await store.pruneEnded(now, 2)).toBe(1);
    expect(await store.pruneEnded(now, 2)).toBe(0);
    const left = await database.db.selectFrom('app_sessions').select('id').execute();
    expect(left.map((row) => row.id)).toEqual([live.id]);
    expect(await store.resolve(live.token, ACME)).toMatchObject({ username: 'ivan' });
    for (const ended of walkedAway) expect(await store.resolve(ended.token, ACME)).toBeUndefined();
  });
});
