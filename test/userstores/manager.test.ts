import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DatabaseKind, redactDatabaseUrl } from '../../src/db/url.js';
import { type HomeLayout, homeLayout, userstoresFolder } from '../../src/home/layout.js';
import { parseStoreFile } from '../../src/userstores/definitions/store-file.js';
import type { UserStoreManager } from '../../src/userstores/manager.js';
import type { UserStore } from '../../src/userstores/types.js';
import {
  DATABASE_KINDS,
  type ScratchDatabase,
  scratchDatabase,
  scratchFolder,
} from '../helpers/databases.js';
import { errorCodeOf, eventually, type ServerDatabase, serverDatabase, startedManager } from './helpers.js';

const ACME = 1;
const GLOBEX = 2;
const TENANTS = { [ACME]: 'acme.com', [GLOBEX]: 'globex.com' };

/** A URL of the engine's kind where nothing answers (or, for SQLite, a path that cannot be created). */
function unreachableUrl(kind: DatabaseKind, home: string): string {
  if (kind === 'postgres') return 'postgres://tessera:topsecret@127.0.0.1:1/nowhere';
  if (kind === 'mysql') return 'mysql://tessera:topsecret@127.0.0.1:1/nowhere';
  const notAFolder = path.join(home, 'not-a-folder');
  writeFileSync(notAFolder, '');
  return `sqlite:${notAFolder}/stores.db`;
}

function storeFile(domain: string, url: string, extra = ''): string {
  return `domain = "${domain}"\ntype = "jdbc"\nurl = "${url}"\n${extra}`;
}

function writeStoreFileByHand(layout: HomeLayout, tenantId: number, domain: string, text: string): string {
  const file = path.join(userstoresFolder(layout, tenantId), `${domain}.toml`);
  writeFileSync(file, text);
  return file;
}

describe.each(DATABASE_KINDS)('JDBC user stores on %s through the manager', (kind) => {
  let server: ServerDatabase;
  let jdbc: ScratchDatabase;
  let layout: HomeLayout;
  let manager: UserStoreManager;
  let lines: string[];

  beforeAll(async () => {
    server = await serverDatabase(kind, TENANTS);
    jdbc = await scratchDatabase(kind, 'jdbc');
    // The JDBC scratch's folder is the home, so that a relative SQLite URL resolves to its database.
    layout = homeLayout(jdbc.home);
  });
  afterAll(async () => {
    await server?.dispose();
    await jdbc?.drop();
  });
  beforeEach(async () => {
    ({ manager, lines } = await startedManager(server, layout, [ACME, GLOBEX], { hotLoad: false }));
  });
  afterEach(async () => {
    await manager.close();
    rmSync(path.join(layout.root, 'repository'), { recursive: true, force: true });
  });

  it('creates a store that works beside PRIMARY, with its file and its registered domain', async () => {
    const created = await manager.createStore(ACME, {
      domain: 'partners',
      type: 'jdbc',
      url: jdbc.url,
      readOnly: false,
      description: 'Partner accounts',
    });
    expect(created).toEqual({
      domain: 'PARTNERS',
      type: 'jdbc',
      url: redactDatabaseUrl(jdbc.url),
      readOnly: false,
      description: 'Partner accounts',
      status: 'up',
    });
    const file = path.join(userstoresFolder(layout, ACME), 'PARTNERS.toml');
    expect(parseStoreFile(readFileSync(file, 'utf8'), file)).toMatchObject({
      ok: true,
      definition: { url: jdbc.url },
    });
    const registered = await server.database.db
      .selectFrom('store_domains')
      .select(['tenant_id', 'name'])
      .where('name', '=', 'PARTNERS')
      .execute();
    expect(registered).toEqual([{ tenant_id: ACME, name: 'PARTNERS' }]);

    const store = manager.store(ACME, 'PARTNERS') as UserStore;
    expect(store.kind).toBe('jdbc');
    await store.addRole('partner');
    await store.addUser({
      username: 'alice',
      password: 'pw',
      roles: ['partner'],
      attributes: { company: 'Initech' },
    });
    expect(await store.authenticate('alice', 'pw')).toEqual({
      username: 'alice',
      roles: ['partner'],
      attributes: { company: 'Initech' },
      system: false,
    });
    expect(await manager.store(ACME, 'PRIMARY')?.getUser('alice')).toBeUndefined();
    expect(manager.stores(ACME).map((s) => `${s.domain}:${s.kind}`)).toEqual([
      'PRIMARY:primary',
      'PARTNERS:jdbc',
    ]);
    expect(manager.describe(ACME).map((d) => d.domain)).toEqual(['PRIMARY', 'PARTNERS']);
    expect(manager.describe(GLOBEX).map((d) => d.domain)).toEqual(['PRIMARY']);
    expect(manager.store(GLOBEX, 'PARTNERS')).toBeUndefined();

    expect(
      await errorCodeOf(
        manager.createStore(ACME, { domain: 'PARTNERS', type: 'jdbc', url: jdbc.url, readOnly: true }),
      ),
    ).toBe('CONFLICT');
    expect(
      await errorCodeOf(
        manager.createStore(ACME, { domain: 'PRIMARY', type: 'jdbc', url: jdbc.url, readOnly: false }),
      ),
    ).toBe('BAD_REQUEST');
  });

  it('shares one database between tenants, each seeing only its own users, and keeps the data of a removed store', async () => {
    await manager.createStore(ACME, { domain: 'SHARED', type: 'jdbc', url: jdbc.url, readOnly: false });
    await manager.createStore(GLOBEX, { domain: 'SHARED', type: 'jdbc', url: jdbc.url, readOnly: false });
    const acme = manager.store(ACME, 'SHARED') as UserStore;
    const globex = manager.store(GLOBEX, 'SHARED') as UserStore;
    await acme.addUser({ username: 'bob', password: 'acme-pw', attributes: { tenant: 'acme' } });
    await globex.addUser({ username: 'bob', password: 'globex-pw', attributes: { tenant: 'globex' } });
    expect((await acme.getUser('bob'))?.attributes).toEqual({ tenant: 'acme' });
    expect((await globex.listUsers({ limit: 10, offset: 0 })).map((u) => u.attributes.tenant)).toEqual([
      'globex',
    ]);
    expect(await globex.authenticate('bob', 'acme-pw')).toBeUndefined();

    await manager.deleteStore(ACME, 'SHARED');
    expect(manager.store(ACME, 'SHARED')).toBeUndefined();
    expect(existsSync(path.join(userstoresFolder(layout, ACME), 'SHARED.toml'))).toBe(false);
    expect(await errorCodeOf(acme.getUser('bob'))).toBe('STORE_UNAVAILABLE');
    // The shared connection stays open for the other tenant's store.
    expect((await globex.getUser('bob'))?.attributes).toEqual({ tenant: 'globex' });
    expect(await errorCodeOf(manager.deleteStore(ACME, 'SHARED'))).toBe('NOT_FOUND');

    await manager.createStore(ACME, { domain: 'SHARED', type: 'jdbc', url: jdbc.url, readOnly: false });
    expect((await manager.store(ACME, 'SHARED')?.getUser('bob'))?.attributes).toEqual({ tenant: 'acme' });
  });

  it('refuses an unreachable database with DB_CONNECT_FAILED and writes no file', async () => {
    const url = unreachableUrl(kind, layout.root);
    expect(
      await errorCodeOf(manager.createStore(ACME, { domain: 'DOWN', type: 'jdbc', url, readOnly: false })),
    ).toBe('DB_CONNECT_FAILED');
    expect(readdirSync(userstoresFolder(layout, ACME))).toEqual([]);
    expect(manager.describe(ACME).map((d) => d.domain)).toEqual(['PRIMARY']);
    const registered = await server.database.db
      .selectFrom('store_domains')
      .select('name')
      .where('name', '=', 'DOWN')
      .execute();
    expect(registered).toEqual([]);
  });

  it('reports a store whose database is down as an error, never logging its password, while the others work', async () => {
    await manager.createStore(ACME, { domain: 'PARTNERS', type: 'jdbc', url: jdbc.url, readOnly: false });
    const url = unreachableUrl(kind, layout.root);
    writeStoreFileByHand(layout, ACME, 'DOWN', storeFile('DOWN', url));
    await manager.rescan(ACME);
    const down = manager.describe(ACME).find((d) => d.domain === 'DOWN');
    expect(down).toMatchObject({ status: 'error', url: redactDatabaseUrl(url) });
    expect(down?.error).toMatch(/cannot|connect|refused|not a directory/i);
    expect(manager.store(ACME, 'DOWN')).toBeUndefined();
    expect(lines.join('\n')).not.toContain('topsecret');
    expect(lines.some((l) => l.includes('"store":"DOWN"') && l.includes('"level":40'))).toBe(true);
    await manager.store(ACME, 'PARTNERS')?.addUser({ username: 'carol', password: 'pw' });
    expect((await manager.store(ACME, 'PARTNERS')?.authenticate('carol', 'pw'))?.username).toBe('carol');
  });

  it('loads a read-only store that refuses writes', async () => {
    writeStoreFileByHand(layout, ACME, 'READONLY', storeFile('READONLY', jdbc.url, 'read_only = true\n'));
    await manager.rescan(ACME);
    const store = manager.store(ACME, 'READONLY') as UserStore;
    expect(store.readOnly).toBe(true);
    expect(await errorCodeOf(store.addUser({ username: 'dave', password: 'pw' }))).toBe('READ_ONLY_STORE');
    expect(await store.listUsers({ limit: 10, offset: 0 })).toEqual(expect.any(Array));
  });
});

describe('hot loading of store files', () => {
  let server: ServerDatabase;
  let home: { dir: string; remove: () => void };
  let layout: HomeLayout;
  let manager: UserStoreManager;
  let lines: string[];
  const url = 'sqlite:repository/database/userstores.db';

  beforeAll(async () => {
    server = await serverDatabase('sqlite', TENANTS);
  });
  afterAll(async () => {
    await server?.dispose();
  });
  beforeEach(async () => {
    home = scratchFolder('hotload');
    layout = homeLayout(home.dir);
    // A long rescan interval: these tests see the watcher at work, not the safety net.
    ({ manager, lines } = await startedManager(server, layout, [ACME, GLOBEX], {
      debounceMs: 30,
      rescanIntervalMs: 60_000,
    }));
  });
  afterEach(async () => {
    await manager.close();
    home.remove();
  });

  it('loads a file that appears, reloads it when it changes and unloads it when it goes', async () => {
    const file = writeStoreFileByHand(layout, ACME, 'PARTNERS', storeFile('PARTNERS', url));
    const first = await eventually(() => manager.store(ACME, 'PARTNERS'));
    expect(first.readOnly).toBe(false);
    await first.addUser({ username: 'erin', password: 'pw' });

    writeFileSync(file, storeFile('PARTNERS', url, 'read_only = true\ndescription = "now read-only"\n'));
    const second = await eventually(
      () => manager.store(ACME, 'PARTNERS')?.readOnly && manager.store(ACME, 'PARTNERS'),
    );
    expect(manager.describe(ACME)[1]).toMatchObject({
      domain: 'PARTNERS',
      description: 'now read-only',
      status: 'up',
    });
    expect((await second.getUser('erin'))?.username).toBe('erin');
    expect(await errorCodeOf(first.getUser('erin'))).toBe('STORE_UNAVAILABLE');

    rmSync(file);
    await eventually(() => manager.store(ACME, 'PARTNERS') === undefined);
    expect(manager.describe(ACME).map((d) => d.domain)).toEqual(['PRIMARY']);
    expect(await errorCodeOf(second.getUser('erin'))).toBe('STORE_UNAVAILABLE');
  });

  it('reports a broken file with its line number while the other stores work, and loads it once fixed', async () => {
    await manager.createStore(ACME, { domain: 'GOOD', type: 'jdbc', url, readOnly: false });
    const file = writeStoreFileByHand(
      layout,
      ACME,
      'BROKEN',
      'domain = "BROKEN"\ntype = "jdbc"\nurl = "sqlite:broken.db\n',
    );
    const broken = await eventually(() => manager.describe(ACME).find((d) => d.domain === 'BROKEN'));
    expect(broken).toMatchObject({ status: 'error', type: 'jdbc' });
    expect(broken.error).toMatch(/^BROKEN\.toml line 3, column \d+: /);
    expect(lines.some((l) => l.includes('BROKEN.toml line 3'))).toBe(true);

    const good = manager.store(ACME, 'GOOD') as UserStore;
    await good.addUser({ username: 'frank', password: 'pw' });
    expect((await good.authenticate('frank', 'pw'))?.username).toBe('frank');

    writeFileSync(file, storeFile('BROKEN', 'sqlite:broken.db'));
    await eventually(() => manager.store(ACME, 'BROKEN'));
    expect(manager.describe(ACME).map((d) => `${d.domain}:${d.status}`)).toEqual([
      'PRIMARY:up',
      'BROKEN:up',
      'GOOD:up',
    ]);
  });

  it('tries a store whose database was down again at the next rescan', async () => {
    // A file where the SQLite file's folder should be: the database cannot open until it is removed.
    const blocker = path.join(layout.root, 'blocker');
    writeFileSync(blocker, '');
    writeStoreFileByHand(layout, ACME, 'LATE', storeFile('LATE', 'sqlite:blocker/late.db'));
    await manager.rescan(ACME);
    expect(manager.describe(ACME).find((d) => d.domain === 'LATE')?.status).toBe('error');
    rmSync(blocker);
    await manager.rescan(ACME);
    expect(manager.describe(ACME).find((d) => d.domain === 'LATE')?.status).toBe('up');
    expect(manager.store(ACME, 'LATE')).toBeDefined();
  });

  it('reports an LDAP file without its bind settings as an error instead of failing', async () => {
    writeStoreFileByHand(
      layout,
      GLOBEX,
      'DIRECTORY',
      'domain = "DIRECTORY"\ntype = "ldap"\nurl = "ldap://ldap.globex.com:389"\nread_only = true\n',
    );
    const ldap = await eventually(() => manager.describe(GLOBEX).find((d) => d.domain === 'DIRECTORY'));
    expect(ldap).toMatchObject({
      type: 'ldap',
      readOnly: true,
      status: 'error',
      error: 'DIRECTORY.toml: the key "bind_dn" is missing (an LDAP store needs it).',
    });
    expect(manager.stores(GLOBEX).map((s) => s.domain)).toEqual(['PRIMARY']);
    expect(
      await errorCodeOf(
        manager.createStore(GLOBEX, { domain: 'LDAP2', type: 'ldap', url: 'ldap://x', readOnly: true }),
      ),
    ).toBe('BAD_REQUEST');
  });

  it('without hot loading, reads the folders only at start and on rescan', async () => {
    const { manager: quiet } = await startedManager(server, layout, [GLOBEX], { hotLoad: false });
    try {
      writeStoreFileByHand(layout, GLOBEX, 'LATER', storeFile('LATER', url));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(quiet.store(GLOBEX, 'LATER')).toBeUndefined();
      await quiet.rescan();
      expect(quiet.store(GLOBEX, 'LATER')).toBeDefined();
    } finally {
      await quiet.close();
    }
  });
});
