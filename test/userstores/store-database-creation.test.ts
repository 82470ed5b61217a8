import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, openDatabase } from '../../src/db/connection.js';
import { parseDatabaseUrl, withDatabaseName } from '../../src/db/url.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import {
  ALLOW_LOCAL_STORE_HOSTS,
  createTenant,
  expectStoreServesUsers,
  jdbcStore,
} from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const CREATE = '/api/v1/tenants/acme.com/userstores';
const PROBE = '/api/v1/tenants/acme.com/userstores/test';
// The engines whose store databases live on a server; a SQLite store's file is created by opening it.
const SERVER_KINDS = ['postgres', 'mysql'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

/**
 * A login role that may not create databases, made with the test server's administrator account: its store
 * URL on `database`, and the command Tessera must give for creating that database for it.
 */
const LIMITED_ROLES: Record<
  ServerKind,
  {
    create: (role: string) => string;
    drop: (role: string) => string;
    url: (adminUrl: string, role: string, database: string) => string;
    command: (host: string, port: number, role: string, database: string) => string;
  }
> = {
  postgres: {
    create: (role) => `CREATE ROLE "${role}" LOGIN`,
    drop: (role) => `DROP ROLE IF EXISTS "${role}"`,
    url: (adminUrl, role, database) => withUser(withDatabaseName(adminUrl, database), role),
    command: (host, port, role, database) =>
      `createdb -h ${host} -p ${port} -U postgres -O ${role} ${database}`,
  },
  mysql: {
    create: (role) => `CREATE USER '${role}'@'%' IDENTIFIED BY 'limited-pw'`,
    drop: (role) => `DROP USER IF EXISTS '${role}'@'%'`,
    url: (adminUrl, role, database) => withUser(withDatabaseName(adminUrl, database), role, 'limited-pw'),
    command: (host, port, role, database) =>
      `mariadb -h ${host} -P ${port} -u root -e 'CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; GRANT ALL ON \`${database}\`.* TO \`${role}\`@\`%\`'`,
  },
};

function withUser(url: string, user: string, password?: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password ?? '';
  return parsed.toString();
}

function uniqueName(label: string): string {
  return `tessera_test_${label}_${randomBytes(4).toString('hex')}`;
}

for (const kind of SERVER_KINDS) {
  describe(`${kind}: a JDBC store's database is created on first use`, () => {
    let t: TestServer;
    let storesFolder: string;
    const databases: string[] = [];
    const roles: string[] = [];

    const adminUrlOf = (database: string) => withDatabaseName(t.scratch.url, database);
    const exists = (database: string) =>
      openDatabase<unknown>(adminUrlOf(database), t.home).then(
        (opened) => opened.close().then(() => true),
        () => false,
      );
    const newDatabase = (label: string) => {
      const name = uniqueName(label);
      databases.push(name);
      return name;
    };
    const asAdmin = async (statement: string) => {
      const admin = await openDatabase<unknown>(t.scratch.url, t.home);
      try {
        await sql.raw(statement).execute(admin.db);
      } finally {
        await admin.close();
      }
    };

    beforeAll(async () => {
      // The machine's database server is one a tenant admin may use here (none is, by default).
      t = await startTestServer(kind, ALLOW_LOCAL_STORE_HOSTS);
      const created = await createTenant(t, 'acme.com', ACME[1]);
      storesFolder = path.join(t.home, 'repository', 'tenants', String(created.body.id), 'userstores');
    });
    afterAll(async () => {
      if (t === undefined) return;
      // The server first, so that its store connections are closed before their databases are dropped.
      await t.server.close();
      for (const name of databases) await dropDatabase(adminUrlOf(name), t.home);
      for (const role of roles) await asAdmin(LIMITED_ROLES[kind].drop(role));
      await t.scratch.drop();
    });

    it('a tenant admin probes a database that does not exist (ok, nothing created), then adds the store: it is created and serves users', async () => {
      const name = newDatabase('created');
      const body = jdbcStore('PARTNERS', adminUrlOf(name));
      expect((await t.call('POST', PROBE, { as: ACME, body })).body).toEqual({ ok: true });
      expect(await exists(name)).toBe(false);

      const created = await t.call('POST', CREATE, { as: ACME, body });
      expect(created.status).toBe(201);
      expect(created.body.status).toBe('up');
      expect(await exists(name)).toBe(true);
      await expectStoreServesUsers(t, ACME, 'PARTNERS', 'alice');

      // The super admin's store is created alike.
      const other = newDatabase('created_super');
      const bySuper = await t.call('POST', CREATE, {
        as: SUPER,
        body: jdbcStore('RESELLERS', adminUrlOf(other)),
      });
      expect(bySuper.status).toBe(201);
      expect(bySuper.body.status).toBe('up');
      await expectStoreServesUsers(t, ACME, 'RESELLERS', 'bob');
    });

    it('a role that may not create databases is refused with the exact command, and that command makes the store work', async () => {
      const role = uniqueName('role');
      roles.push(role);
      await asAdmin(LIMITED_ROLES[kind].create(role));
      const name = newDatabase('limited');
      const url = LIMITED_ROLES[kind].url(t.scratch.url, role, name);
      const target = parseDatabaseUrl(url, t.home);
      if (target.kind === 'sqlite') throw new Error('a server URL was expected');
      const command = LIMITED_ROLES[kind].command(target.host, target.port, role, name);

      const probe = await t.call('POST', PROBE, { as: ACME, body: jdbcStore('LIMITED', url) });
      expect(probe.body.ok).toBe(false);
      expect(probe.body.error).toContain(`does not exist and`);
      expect(probe.body.error).toContain(`: ${command}`);

      for (const as of [ACME, SUPER]) {
        const refused = await t.call('POST', CREATE, { as, body: jdbcStore('LIMITED', url) });
        expect(refused.status).toBe(412);
        expect(refused.body.error).toBe('DATABASE_MISSING');
        expect(refused.body.message).toContain(`: ${command}`);
        expect(refused.body.message).not.toContain('limited-pw');
      }
      expect(existsSync(path.join(storesFolder, 'LIMITED.toml'))).toBe(false);
      expect(await exists(name)).toBe(false);

      // What the message tells the administrator to run is what it takes.
      execFileSync('sh', ['-c', command], { stdio: 'pipe' });
      const created = await t.call('POST', CREATE, { as: ACME, body: jdbcStore('LIMITED', url) });
      expect(created.status).toBe(201);
      expect(created.body.status).toBe('up');
      await expectStoreServesUsers(t, ACME, 'LIMITED', 'carol');
    });

    it('a hand-written store file on a database its role may not create shows everyone the command, and loads once it exists', async () => {
      const role = uniqueName('role');
      roles.push(role);
      await asAdmin(LIMITED_ROLES[kind].create(role));
      const name = newDatabase('by_hand');
      const url = LIMITED_ROLES[kind].url(t.scratch.url, role, name);
      const target = parseDatabaseUrl(url, t.home);
      if (target.kind === 'sqlite') throw new Error('a server URL was expected');
      const command = LIMITED_ROLES[kind].command(target.host, target.port, role, name);
      writeFileSync(
        path.join(storesFolder, 'BYHAND.toml'),
        `domain = "BYHAND"\ntype = "jdbc"\nurl = "${url}"\n`,
      );
      const tenantId = Number(path.basename(path.dirname(storesFolder)));
      await t.server.context.stores.rescan(tenantId);
      for (const as of [ACME, SUPER]) {
        const listed = await t.call('GET', CREATE, { as });
        const store = listed.body.userstores.find((s: { domain: string }) => s.domain === 'BYHAND');
        expect(store.status).toBe('error');
        expect(store.error).toContain(`: ${command}`);
      }

      execFileSync('sh', ['-c', command], { stdio: 'pipe' });
      // The periodic rescan tries such a store again; this is the same, now.
      await t.server.context.stores.rescan(tenantId, { dueOnly: true });
      const listed = await t.call('GET', CREATE, { as: ACME });
      expect(listed.body.userstores.find((s: { domain: string }) => s.domain === 'BYHAND').status).toBe('up');
      await expectStoreServesUsers(t, ACME, 'BYHAND', 'erin');
    });

    it('tells a tenant admin refused a host that the operator must add it to userstores.allowed_hosts in conf/tessera.toml', async () => {
      const url = adminUrlOf(newDatabase('elsewhere')).replace('127.0.0.1', '127.0.0.2');
      const refused = await t.call('POST', CREATE, { as: ACME, body: jdbcStore('ELSEWHERE', url) });
      expect(refused.status).toBe(403);
      expect(refused.body.message).toContain(
        'the operator must add "127.0.0.2" to userstores.allowed_hosts in conf/tessera.toml',
      );
      const probe = await t.call('POST', PROBE, { as: ACME, body: jdbcStore('ELSEWHERE', url) });
      expect(probe.body).toEqual({ ok: false, error: refused.body.message });
    });
  });
}
