import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { Schema } from '../../src/db/schema.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { SUPER_TENANT_ID } from '../../src/home/layout.js';
import { bootstrapDatabase } from '../../src/server/bootstrap.js';
import type { RunningServer } from '../../src/server/start.js';
import { readTenantIdMark, TENANT_ID_MARK_PATH } from '../../src/tenants/id-mark.js';
import { TenantService } from '../../src/tenants/service.js';
import { exportHome } from '../../src/transfer/export.js';
import { importHome } from '../../src/transfer/import.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { DATABASE_KINDS, type ScratchDatabase } from '../helpers/databases.js';
import { buildFixtureOn, fixtureAtCurrentRelease } from '../helpers/fixtures.js';
import { ADMIN_PASSWORD, callJson, type Reply, startServerOn, writeConfig } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const FIXTURE_PASSWORD = 'fixture-pw';

/** A server on a home, and the API called as someone. */
interface Node {
  server: RunningServer;
  call(method: string, route: string, options?: { as?: [string, string]; body?: unknown }): Promise<Reply>;
}

async function startNode(home: string): Promise<Node> {
  const server = await startServerOn(home, 'warn');
  return {
    server,
    call: (method, route, options) => callJson(`${server.url}/api/v1`, method, route, options),
  };
}

async function createTenant(node: Node, domain: string, as: [string, string] = SUPER): Promise<number> {
  const created = await node.call('POST', '/tenants', {
    as,
    body: { domain, adminPassword: `${domain}-admin-pw` },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as number;
}

async function deleteTenant(node: Node, domain: string, as: [string, string] = SUPER): Promise<void> {
  expect((await node.call('DELETE', `/tenants/${domain}`, { as })).status).toBe(204);
}

/** A database URL the server can reach from any home: SQLite files by their absolute path. */
function absoluteUrl(scratch: ScratchDatabase): string {
  return scratch.url.startsWith('sqlite:')
    ? `sqlite:${path.join(scratch.home, scratch.url.slice('sqlite:'.length))}`
    : scratch.url;
}

describe.each(DATABASE_KINDS)('tenant ids on %s', (kind: DatabaseKind) => {
  const cleanups = cleanupsAfterEach();
  const scratch = (label: string): Promise<ScratchDatabase> => cleanups.scratch(kind, label);

  async function freshHome(): Promise<string> {
    const database = await scratch('ids');
    const home = path.join(database.home, 'home');
    writeConfig(home, kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : database.url);
    return home;
  }

  async function node(home: string): Promise<Node> {
    const started = await startNode(home);
    cleanups.add(() => started.server.close());
    return started;
  }

  it("are not given again: a store on a deleted tenant's database does not show its users to the next tenant", async () => {
    const home = await freshHome();
    const partners = absoluteUrl(await scratch('idpartners'));
    const t = await node(home);
    await createTenant(t, 'acme.com');
    const globex = await createTenant(t, 'globex.com');
    const store = { domain: 'PARTNERS', type: 'jdbc', url: partners, readOnly: false };
    expect((await t.call('POST', '/tenants/globex.com/userstores', { as: SUPER, body: store })).status).toBe(
      201,
    );
    const bob = await t.call('POST', '/tenants/globex.com/users', {
      as: SUPER,
      body: { username: 'PARTNERS/bob', password: 'bob-partner-pw', attributes: { email: 'bob@globex.com' } },
    });
    expect(bob.status).toBe(201);
    const bobAt = (domain: string) => ({ username: `PARTNERS/bob@${domain}`, password: 'bob-partner-pw' });
    expect((await t.call('POST', '/authenticate', { body: bobAt('globex.com') })).status).toBe(200);

    await deleteTenant(t, 'globex.com');
    const initech = await createTenant(t, 'initech.com');
    expect(initech).toBeGreaterThan(globex);

    expect((await t.call('POST', '/tenants/initech.com/userstores', { as: SUPER, body: store })).status).toBe(
      201,
    );
    const users = await t.call('GET', '/tenants/initech.com/users', { as: SUPER });
    expect(users.body.users.map((u: { username: string }) => u.username)).toEqual(['admin']);
    expect((await t.call('GET', '/tenants/initech.com/users/PARTNERS%2Fbob', { as: SUPER })).status).toBe(
      404,
    );
    expect((await t.call('POST', '/authenticate', { body: bobAt('initech.com') })).status).toBe(401);
  });

  it('are not given again after a restart', async () => {
    const home = await freshHome();
    const first = await startNode(home);
    let stopped = false;
    cleanups.add(async () => {
      if (!stopped) await first.server.close();
    });
    await createTenant(first, 'acme.com');
    const globex = await createTenant(first, 'globex.com');
    await deleteTenant(first, 'globex.com');
    await first.server.close();
    stopped = true;

    const second = await node(home);
    expect(await createTenant(second, 'initech.com')).toBeGreaterThan(globex);
  });

  it('are never shared by tenants two nodes create at the same moment', async () => {
    const database = await scratch('idrace');
    const nodes: Database[] = [];
    cleanups.add(async () => {
      for (const opened of nodes) await opened.close();
    });
    for (let i = 0; i < 2; i++) nodes.push(await openDatabase(database.url, database.home));
    await bootstrapDatabase(nodes[0] as Database, ADMIN_PASSWORD);
    const quiet = { created: async () => {}, deleted: async () => {} };
    const services = nodes.map((opened) => new TenantService(opened.db, quiet));
    const [one, two] = services as [TenantService, TenantService];
    await one.create({ domain: 'acme.com', adminPassword: 'acme-admin-pw' });
    const globex = (await two.create({ domain: 'globex.com', adminPassword: 'globex-admin-pw' })).id;
    await one.delete('globex.com');

    const domains = ['a.example', 'b.example', 'c.example', 'd.example'];
    const created = await Promise.all(
      domains.map((domain, i) => (i % 2 ? two : one).create({ domain, adminPassword: 'tenant-admin-pw' })),
    );
    const ids = created.map((tenant) => tenant.id);
    expect(new Set(ids).size).toBe(domains.length);
    expect(Math.min(...ids)).toBeGreaterThan(globex);
    expect(await readTenantIdMark((nodes[0] as Database).db)).toBe(Math.max(...ids));
  });

  it('on a 2.0.0 database, go on past every id it still names; the mark is out of the registry API and mounts', async () => {
    const database = await scratch('idfixture');
    const home = path.join(database.home, 'home');
    const {
      summary,
      storesUrl: stores,
      dropStores,
    } = await buildFixtureOn(kind, database, {
      release: '2.0.0',
      home,
      tenants: 3,
      users: 6,
      password: FIXTURE_PASSWORD,
    });
    cleanups.add(dropStores);
    // Still a database from before the mark: the 2.1.0 scripts add none.
    await fixtureAtCurrentRelease(home, summary.databaseUrl);
    // A mount on the path the registry API would make of the mark's: it must not take the mark over.
    appendFileSync(
      path.join(home, 'conf', 'tessera.toml'),
      `\n[[registry.mounts]]\npath = "/${TENANT_ID_MARK_PATH}"\nurl = "sqlite:mounted-registry.db"\n`,
    );

    // A server from before the mark deleted the newest tenant: only its audit row still names its id.
    const before = await openDatabase<Schema>(summary.databaseUrl, home);
    let newest: { id: number; domain: string };
    try {
      newest = await before.db
        .selectFrom('tenants')
        .select(['id', 'domain'])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
      await before.db.deleteFrom('tenants').where('id', '=', newest.id).execute();
      await before.db
        .insertInto('audit_log')
        .values({
          tenant_id: newest.id,
          actor: 'admin@carbon.super',
          action: 'tenant.delete',
          target: newest.domain,
          detail: null,
          created_at: Date.now(),
        })
        .execute();
      expect(await readTenantIdMark(before.db)).toBeUndefined();
    } finally {
      await before.close();
    }

    const t = await node(home);
    const superAdmin: [string, string] = ['admin', FIXTURE_PASSWORD];
    const next = await createTenant(t, 'initech.com', superAdmin);
    expect(next).toBe(newest.id + 1);
    const db = t.server.context.database.db as Kysely<Schema>;
    expect(await readTenantIdMark(db)).toBe(next);
    // The fixture's PARTNERS stores share one database, keyed by tenant id: the deleted tenant's are there.
    const store = { domain: 'PARTNERS', type: 'jdbc', url: stores, readOnly: true };
    expect(
      (await t.call('POST', '/tenants/initech.com/userstores', { as: superAdmin, body: store })).status,
    ).toBe(201);
    const users = await t.call('GET', '/tenants/initech.com/users?store=PARTNERS', { as: superAdmin });
    expect(users.status).toBe(200);
    expect(users.body.users).toEqual([]);

    // Not readable, listable or writable through the registry API, and a mount does not take it over.
    const registry = '/tenants/carbon.super/registry';
    expect(
      (await t.call('GET', `${registry}/resources/${TENANT_ID_MARK_PATH}`, { as: superAdmin })).status,
    ).toBe(404);
    const put = await t.call('PUT', `${registry}/resources/${TENANT_ID_MARK_PATH}`, {
      as: superAdmin,
      body: { content: '1', mediaType: 'text/plain' },
    });
    expect(put.status).toBe(201);
    const children = await t.call('GET', `${registry}/children/`, { as: superAdmin });
    expect(children.body.children).toEqual([`/${TENANT_ID_MARK_PATH}`]);
    const mounted = await t.call('GET', `${registry}/resources/${TENANT_ID_MARK_PATH}`, { as: superAdmin });
    expect(mounted.body).toMatchObject({ path: `/${TENANT_ID_MARK_PATH}`, version: 1, content: '1' });
    const serverRows = await db
      .selectFrom('registry_resources')
      .select(['path', 'version'])
      .where('tenant_id', '=', SUPER_TENANT_ID)
      .where('path', 'like', '%tenant-ids%')
      .execute();
    expect(serverRows).toEqual([{ path: TENANT_ID_MARK_PATH, version: next }]);
    expect(await createTenant(t, 'hooli.com', superAdmin)).toBe(next + 1);
  });

  it('are not given again after an export and an import', async () => {
    const sourceHome = await freshHome();
    const source = await startNode(sourceHome);
    let stopped = false;
    cleanups.add(async () => {
      if (!stopped) await source.server.close();
    });
    await createTenant(source, 'acme.com');
    const globex = await createTenant(source, 'globex.com');
    await deleteTenant(source, 'globex.com');
    await source.server.close();
    stopped = true;
    const bundle = path.join(path.dirname(sourceHome), 'export.tar.gz');
    await exportHome({ home: sourceHome, out: bundle });

    const targetHome = await freshHome();
    const target = await openDatabase(configuredUrl(targetHome), targetHome);
    try {
      await bootstrapDatabase(target, 'first-start-pw');
    } finally {
      await target.close();
    }
    await importHome({ home: targetHome, input: bundle });
    const imported = await node(targetHome);
    expect(await createTenant(imported, 'initech.com')).toBeGreaterThan(globex);
  });
});

/** The database URL a home's config names. */
function configuredUrl(home: string): string {
  return loadConfigFile(path.join(home, 'conf', 'tessera.toml')).database.url;
}
