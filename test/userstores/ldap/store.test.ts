import { EqualityFilter } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LdapSettings } from '../../../src/userstores/ldap/settings.js';
import { LdapUserStore } from '../../../src/userstores/ldap/store.js';
import { errorCodeOf } from '../helpers.js';
import { GROUPS, PEOPLE, rootBindSettings, type Slapd, seed, startSlapd } from './slapd.js';

const ALICE = { uid: 'alice', password: 'alice-ldap-pw', mail: 'alice@acme.test', givenName: 'Alice' };
const BOB = { uid: 'bob', password: 'bob-ldap-pw', mail: 'bob@acme.test' };
const CAROL = { uid: 'carol', password: 'carol-ldap-pw' };

function settings(overrides: Partial<LdapSettings> = {}): LdapSettings {
  return rootBindSettings({
    attributes: { email: 'mail', givenName: 'givenName' },
    timeoutMs: 2_000,
    ...overrides,
  });
}

/** What the directory itself holds under `base` for `attribute=value`, seen through a fresh root connection. */
async function directoryEntries(slapd: Slapd, base: string, attribute: string, value: string) {
  const client = await slapd.root();
  try {
    const result = await client.search(base, {
      scope: 'sub',
      filter: new EqualityFilter({ attribute, value }),
    });
    return result.searchEntries;
  } finally {
    await client.unbind();
  }
}

describe('LDAP user store against slapd', () => {
  let slapd: Slapd;
  let readOnly: LdapUserStore;
  let readWrite: LdapUserStore;

  beforeAll(async () => {
    slapd = await startSlapd();
    await seed(slapd, [ALICE, BOB, CAROL], { developers: ['alice', 'bob'], admins: ['alice'] });
    readOnly = await LdapUserStore.open({
      domain: 'DIRECTORY',
      url: slapd.url,
      settings: settings(),
      readOnly: true,
    });
    readWrite = await LdapUserStore.open({
      domain: 'WRITABLE',
      url: slapd.url,
      settings: settings(),
      readOnly: false,
    });
  });
  afterAll(async () => {
    await readOnly?.close();
    await readWrite?.close();
    await slapd?.dispose();
  });

  it('lists and gets seeded users with their groups as roles and mapped attributes', async () => {
    const all = await readOnly.listUsers({ limit: 10, offset: 0 });
    expect(all.map((u) => u.username)).toEqual(['alice', 'bob', 'carol']);
    expect(all[0]).toEqual({
      username: 'alice',
      roles: ['admins', 'developers'],
      attributes: { email: ALICE.mail, givenName: ALICE.givenName },
      system: false,
    });
    expect(all[2]).toEqual({ username: 'carol', roles: [], attributes: {}, system: false });
    const paged = await readOnly.listUsers({ limit: 1, offset: 1 });
    expect(paged.map((u) => u.username)).toEqual(['bob']);
    expect((await readOnly.listUsers({ prefix: 'b', limit: 10, offset: 0 })).map((u) => u.username)).toEqual([
      'bob',
    ]);
    // Prefixes are case-sensitive, as in the SQL stores, although uid matching in LDAP is not.
    expect(await readOnly.listUsers({ prefix: 'B', limit: 10, offset: 0 })).toEqual([]);
    expect(await readOnly.getUser('bob')).toEqual({
      username: 'bob',
      roles: ['developers'],
      attributes: { email: BOB.mail },
      system: false,
    });
    expect(await readOnly.getUser('nobody')).toBeUndefined();
    expect(await readOnly.listRoles({ limit: 10, offset: 0 })).toEqual(['admins', 'developers']);
    expect(await readOnly.listRoles({ prefix: 'dev', limit: 10, offset: 0 })).toEqual(['developers']);
    expect(await readOnly.getRole('developers')).toEqual({
      name: 'developers',
      users: ['alice', 'bob'],
      system: false,
    });
    expect(await readOnly.getRole('nothing')).toBeUndefined();
  });

  it('authenticates by binding as the user, and answers undefined for a wrong or empty password', async () => {
    const alice = await readOnly.authenticate('alice', ALICE.password);
    expect(alice).toMatchObject({ username: 'alice', roles: ['admins', 'developers'] });
    expect(alice?.attributes.email).toBe(ALICE.mail);
    expect(await readOnly.authenticate('alice', BOB.password)).toBeUndefined();
    expect(await readOnly.authenticate('alice', '')).toBeUndefined();
    expect(await readOnly.authenticate('nobody', ALICE.password)).toBeUndefined();
  });

  it('finds nothing for names that try to inject filter syntax', async () => {
    for (const name of ['*', 'a*', '*)(uid=*', 'alice)(|(uid=*', 'a*)(uid=*']) {
      expect(await readOnly.getUser(name)).toBeUndefined();
      expect(await readOnly.authenticate(name, ALICE.password)).toBeUndefined();
      expect(await readOnly.getRole(name)).toBeUndefined();
    }
    expect(await readOnly.listUsers({ prefix: '*', limit: 10, offset: 0 })).toEqual([]);
    expect(await readOnly.listRoles({ prefix: '*)(cn=*', limit: 10, offset: 0 })).toEqual([]);
  });

  it('refuses every write in read-only mode with READ_ONLY_STORE and changes nothing', async () => {
    const writes = [
      readOnly.addUser({ username: 'dave', password: 'pw' }),
      readOnly.deleteUser('bob'),
      readOnly.setPassword('bob', 'new-pw'),
      readOnly.setUserRoles('bob', []),
      readOnly.addRole('testers'),
      readOnly.deleteRole('developers'),
    ];
    for (const write of writes) expect(await errorCodeOf(write)).toBe('READ_ONLY_STORE');
    expect(await directoryEntries(slapd, PEOPLE, 'uid', 'dave')).toEqual([]);
    expect(await readOnly.authenticate('bob', BOB.password)).toMatchObject({ roles: ['developers'] });
  });

  it('creates users with roles and attributes in read-write mode, visible in the directory', async () => {
    const created = await readWrite.addUser({
      username: 'dave',
      password: 'dave-pw',
      roles: ['developers'],
      attributes: { email: 'dave@acme.test' },
    });
    expect(created).toEqual({
      username: 'dave',
      roles: ['developers'],
      attributes: { email: 'dave@acme.test' },
      system: false,
    });
    const [entry] = await directoryEntries(slapd, PEOPLE, 'uid', 'dave');
    expect(entry?.dn).toBe(`uid=dave,${PEOPLE}`);
    expect(entry?.mail).toBe('dave@acme.test');
    // Stored hashed, never as the cleartext.
    expect(String(entry?.userPassword)).toMatch(/^\{SSHA\}/);
    const [developers] = await directoryEntries(slapd, GROUPS, 'cn', 'developers');
    expect(developers?.member).toContain(`uid=dave,${PEOPLE}`);
    expect(await readOnly.authenticate('dave', 'dave-pw')).toMatchObject({ roles: ['developers'] });
    expect(await errorCodeOf(readWrite.addUser({ username: 'dave', password: 'x' }))).toBe('CONFLICT');
    expect(
      await errorCodeOf(readWrite.addUser({ username: 'erin', password: 'x', attributes: { phone: '1' } })),
    ).toBe('BAD_REQUEST');
    expect(await errorCodeOf(readWrite.addUser({ username: 'erin', password: 'x', roles: ['ghosts'] }))).toBe(
      'BAD_REQUEST',
    );
    expect(await errorCodeOf(readWrite.addUser({ username: 'a*)(uid=*', password: 'x' }))).toBe(
      'BAD_REQUEST',
    );
    expect(await directoryEntries(slapd, PEOPLE, 'uid', 'erin')).toEqual([]);
  });

  it('escapes DN special characters in new names, so the entry lands where it should', async () => {
    await readWrite.addUser({ username: 'x+y', password: 'plus-pw', roles: ['developers'] });
    const [entry] = await directoryEntries(slapd, PEOPLE, 'uid', 'x+y');
    // One RDN with an escaped `+` (slapd spells it \2B), not a two-valued RDN `uid=x+y`.
    expect(entry?.dn).toMatch(/^uid=x\\(\+|2B)y,ou=people,dc=tessera,dc=test$/);
    expect(await readWrite.authenticate('x+y', 'plus-pw')).toMatchObject({
      username: 'x+y',
      roles: ['developers'],
    });
    expect((await readWrite.getRole('developers'))?.users).toContain('x+y');
    expect(await readWrite.deleteUser('x+y')).toBe(true);
  });

  it('sets a password that the next bind accepts and the old one no longer does', async () => {
    expect(await readWrite.setPassword('carol', 'carol-new-pw')).toBe(true);
    expect(await readWrite.authenticate('carol', 'carol-new-pw')).toMatchObject({ username: 'carol' });
    expect(await readWrite.authenticate('carol', CAROL.password)).toBeUndefined();
    expect(await readWrite.setPassword('nobody', 'pw')).toBe(false);
    expect(await errorCodeOf(readWrite.setPassword('carol', ''))).toBe('BAD_REQUEST');
  });

  it('creates and removes groups and memberships, empty groups included', async () => {
    await readWrite.addRole('testers');
    expect(await readWrite.getRole('testers')).toEqual({ name: 'testers', users: [], system: false });
    expect(await directoryEntries(slapd, GROUPS, 'cn', 'testers')).toHaveLength(1);
    expect(await errorCodeOf(readWrite.addRole('testers'))).toBe('CONFLICT');
    expect(await readWrite.setUserRoles('carol', ['testers', 'admins'])).toBe(true);
    expect((await readWrite.getUser('carol'))?.roles).toEqual(['admins', 'testers']);
    expect(await readWrite.setUserRoles('carol', ['testers'])).toBe(true);
    expect((await readWrite.getRole('admins'))?.users).toEqual(['alice']);
    expect(await readWrite.setUserRoles('carol', [])).toBe(true);
    expect(await readWrite.getRole('testers')).toEqual({ name: 'testers', users: [], system: false });
    expect(await errorCodeOf(readWrite.setUserRoles('carol', ['ghosts']))).toBe('BAD_REQUEST');
    expect(await readWrite.setUserRoles('nobody', [])).toBe(false);

    await readWrite.addRole('reviewers', ['bob', 'carol']);
    expect((await readWrite.getRole('reviewers'))?.users).toEqual(['bob', 'carol']);
    expect(await errorCodeOf(readWrite.addRole('auditors', ['ghost']))).toBe('BAD_REQUEST');
    expect(await readWrite.deleteRole('reviewers')).toBe(true);
    expect(await directoryEntries(slapd, GROUPS, 'cn', 'reviewers')).toEqual([]);
    expect(await readWrite.deleteRole('reviewers')).toBe(false);
    expect(await readWrite.deleteRole('testers')).toBe(true);
  });

  it('deletes a user and their memberships', async () => {
    await readWrite.addUser({ username: 'frank', password: 'frank-pw', roles: ['admins'] });
    expect(await readWrite.deleteUser('frank')).toBe(true);
    expect(await directoryEntries(slapd, PEOPLE, 'uid', 'frank')).toEqual([]);
    const [admins] = await directoryEntries(slapd, GROUPS, 'cn', 'admins');
    expect(admins?.member).toBe(`uid=alice,${PEOPLE}`);
    expect(await readWrite.deleteUser('frank')).toBe(false);
    expect(await readWrite.authenticate('frank', 'frank-pw')).toBeUndefined();
  });

  it('reports STORE_UNAVAILABLE while slapd is stopped, and works again once it is back', async () => {
    await slapd.stop();
    try {
      expect(await errorCodeOf(readOnly.getUser('alice'))).toBe('STORE_UNAVAILABLE');
      expect(await errorCodeOf(readOnly.authenticate('alice', ALICE.password))).toBe('STORE_UNAVAILABLE');
      expect(
        await errorCodeOf(
          LdapUserStore.open({ domain: 'LATE', url: slapd.url, settings: settings(), readOnly: true }),
        ),
      ).toBe('STORE_UNAVAILABLE');
    } finally {
      await slapd.start();
    }
    expect(await readOnly.authenticate('alice', ALICE.password)).toMatchObject({ username: 'alice' });
  });

  it('refuses to open with a wrong bind password or a missing base, without echoing the password', async () => {
    const wrong = LdapUserStore.open({
      domain: 'WRONG',
      url: slapd.url,
      settings: settings({ bindPassword: 'not-the-root-pw' }),
      readOnly: true,
    });
    await expect(wrong).rejects.toThrow(/refused the bind DN/);
    await expect(wrong).rejects.not.toThrow(/not-the-root-pw/);
    await expect(
      LdapUserStore.open({
        domain: 'NOBASE',
        url: slapd.url,
        settings: settings({ userSearchBase: `ou=nobody,${PEOPLE}` }),
        readOnly: true,
      }),
    ).rejects.toThrow(/user_search_base .* does not exist/);
  });
});
