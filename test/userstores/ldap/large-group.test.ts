import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LdapUserStore } from '../../../src/userstores/ldap/store.js';
import { type SeededDirectory, seededDirectory } from './slapd.js';

const MEMBERS = Array.from({ length: 50 }, (_, i) => `member${String(i).padStart(2, '0')}`);

/** The store's private search, which every directory request goes through. */
type Searching = { search: (...args: unknown[]) => Promise<unknown> };

describe('an LDAP group with many members', () => {
  let directory: SeededDirectory | undefined;
  let store: LdapUserStore;

  beforeAll(async () => {
    const users = MEMBERS.map((uid) => ({ uid, password: `${uid}-pw` }));
    directory = await seededDirectory(users, { everyone: MEMBERS }, { timeoutMs: 5_000, readOnly: true });
    store = directory.store;
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await directory?.dispose();
  });

  it('returns every member while asking the directory at most 8 things at a time', async () => {
    const prototype = LdapUserStore.prototype as unknown as Searching;
    const original = prototype.search;
    let inFlight = 0;
    let peak = 0;
    vi.spyOn(prototype, 'search').mockImplementation(async function (this: unknown, ...args: unknown[]) {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await original.apply(this, args);
      } finally {
        inFlight--;
      }
    });
    const role = await store.getRole('everyone');
    expect(role?.users).toEqual(MEMBERS);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(8);
    vi.restoreAllMocks();
  });

  it('an unknown user is refused like a wrong password, after a bind of its own', async () => {
    expect(await store.authenticate('member07', 'member07-pw')).toMatchObject({ username: 'member07' });
    expect(await store.authenticate('member07', 'wrong')).toBeUndefined();
    expect(await store.authenticate('nobody-here', 'wrong')).toBeUndefined();
  });
});
