import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HomeLayout, homeLayout, userstoresFolder } from '../../../src/home/layout.js';
import { parseStoreFile } from '../../../src/userstores/definitions/store-file.js';
import type { UserStoreManager } from '../../../src/userstores/manager.js';
import type { UserStore } from '../../../src/userstores/types.js';
import { type ScratchDatabase, scratchDatabase } from '../../helpers/databases.js';
import { errorCodeOf, type ServerDatabase, serverDatabase, startedManager } from '../helpers.js';
import { ROOT_PASSWORD, rootBindRequest, type Slapd, seed, startSlapd } from './slapd.js';

const ACME = 1;

describe('LDAP user stores through the manager', () => {
  let slapd: Slapd;
  let server: ServerDatabase;
  let jdbc: ScratchDatabase;
  let layout: HomeLayout;
  let manager: UserStoreManager;
  let lines: string[];
  const ldap = () => rootBindRequest({ attributes: { email: 'mail' }, timeoutMs: 2_000 });

  beforeAll(async () => {
    slapd = await startSlapd();
    await seed(slapd, [{ uid: 'alice', password: 'alice-pw', mail: 'alice@acme.test' }], {
      developers: ['alice'],
    });
    server = await serverDatabase('sqlite', { [ACME]: 'acme.com' });
    jdbc = await scratchDatabase('sqlite', 'jdbc');
    layout = homeLayout(jdbc.home);
    ({ manager, lines } = await startedManager(server, layout, [ACME], { hotLoad: false }));
  });
  afterAll(async () => {
    await manager?.close();
    await server?.dispose();
    await jdbc?.drop();
    await slapd?.dispose();
  });

  it('creates an LDAP store whose file holds its settings, readable by the server only, and never shows the password', async () => {
    const created = await manager.createStore(ACME, {
      domain: 'directory',
      type: 'ldap',
      url: slapd.url,
      readOnly: true,
      ldap: ldap(),
    });
    expect(created).toEqual({
      domain: 'DIRECTORY',
      type: 'ldap',
      url: slapd.url,
      readOnly: true,
      status: 'up',
    });
    const file = path.join(userstoresFolder(layout, ACME), 'DIRECTORY.toml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const parsed = parseStoreFile(readFileSync(file, 'utf8'), file);
    expect(parsed.ok && parsed.definition.ldap).toMatchObject({
      ...ldap(),
      userNameAttribute: 'uid',
      groupNameAttribute: 'cn',
      memberAttribute: 'member',
    });
    expect(JSON.stringify(manager.describe(ACME))).not.toContain(ROOT_PASSWORD);
    const store = manager.store(ACME, 'DIRECTORY') as UserStore;
    expect(store.kind).toBe('ldap');
    expect(await store.authenticate('alice', 'alice-pw')).toEqual({
      username: 'alice',
      roles: ['developers'],
      attributes: { email: 'alice@acme.test' },
      system: false,
    });
    expect(await errorCodeOf(store.addUser({ username: 'bob', password: 'pw' }))).toBe('READ_ONLY_STORE');
  });

  it('refuses a definition the directory rejects, writing no file', async () => {
    const folder = userstoresFolder(layout, ACME);
    const wrong = manager.createStore(ACME, {
      domain: 'WRONG',
      type: 'ldap',
      url: slapd.url,
      readOnly: true,
      ldap: { ...ldap(), bindPassword: 'not-the-root-pw' },
    });
    expect(await errorCodeOf(wrong)).toBe('BAD_REQUEST');
    const down = manager.createStore(ACME, {
      domain: 'WRONG',
      type: 'ldap',
      url: 'ldap://127.0.0.1:1',
      readOnly: true,
      ldap: ldap(),
    });
    expect(await errorCodeOf(down)).toBe('STORE_UNAVAILABLE');
    const incomplete = manager.createStore(ACME, {
      domain: 'WRONG',
      type: 'ldap',
      url: slapd.url,
      readOnly: true,
    });
    await expect(incomplete).rejects.toThrow('the key "bind_dn" is missing');
    expect(existsSync(path.join(folder, 'WRONG.toml'))).toBe(false);
  });

  it('reports an LDAP store whose slapd is stopped as error while PRIMARY and a JDBC store work, and brings it back up', async () => {
    await manager.createStore(ACME, { domain: 'PARTNERS', type: 'jdbc', url: jdbc.url, readOnly: false });
    const directory = manager.store(ACME, 'DIRECTORY') as UserStore;
    const late = path.join(userstoresFolder(layout, ACME), 'LATE.toml');
    const text = readFileSync(path.join(userstoresFolder(layout, ACME), 'DIRECTORY.toml'), 'utf8');
    await slapd.stop();
    try {
      writeFileSync(late, text.replace('domain = "DIRECTORY"', 'domain = "LATE"'));
      await manager.rescan(ACME);
      const described = manager.describe(ACME).find((d) => d.domain === 'LATE');
      expect(described).toMatchObject({ type: 'ldap', status: 'error' });
      expect(described?.error).toContain(`The LDAP server ${slapd.url} is not available`);
      expect(manager.store(ACME, 'LATE')).toBeUndefined();
      // A store loaded before the directory went away answers STORE_UNAVAILABLE rather than hanging.
      expect(await errorCodeOf(directory.getUser('alice'))).toBe('STORE_UNAVAILABLE');
      const primary = manager.store(ACME, 'PRIMARY') as UserStore;
      await primary.addUser({ username: 'carol', password: 'carol-pw' });
      expect(await primary.authenticate('carol', 'carol-pw')).toMatchObject({ username: 'carol' });
      const partners = manager.store(ACME, 'PARTNERS') as UserStore;
      await partners.addUser({ username: 'dave', password: 'dave-pw' });
      expect(await partners.authenticate('dave', 'dave-pw')).toMatchObject({ username: 'dave' });
    } finally {
      await slapd.start();
    }
    await manager.rescan(ACME);
    expect(manager.describe(ACME).find((d) => d.domain === 'LATE')?.status).toBe('up');
    expect(await manager.store(ACME, 'LATE')?.getUser('alice')).toMatchObject({ roles: ['developers'] });
    expect(await directory.getUser('alice')).toMatchObject({ username: 'alice' });
    expect(lines.join('\n')).not.toContain(ROOT_PASSWORD);
  });
});
