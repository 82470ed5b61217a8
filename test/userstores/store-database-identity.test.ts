import { existsSync, readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { parseDatabaseUrl, withDatabaseName } from '../../src/db/url.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const CREATE = '/api/v1/tenants/acme.com/userstores';
const PROBE = '/api/v1/tenants/acme.com/userstores/test';
// The server engines a JDBC store can share with the server (SQLite files are compared by real path).
const SERVER_KINDS = ['postgres', 'mysql'] as const;

/** A TCP relay listening on ::1 to `port` on 127.0.0.1: the same database server under another address and port. */
async function ipv6Relay(port: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The same URL with another host (and port). */
function withHost(url: string, host: string, port?: number): string {
  const parsed = new URL(url);
  parsed.hostname = host;
  if (port !== undefined) parsed.port = String(port);
  return parsed.toString();
}

for (const kind of SERVER_KINDS) {
  describe(`${kind}: a store's database is known by identity, not by host string`, () => {
    let t: TestServer;
    let relay: Awaited<ReturnType<typeof ipv6Relay>>;
    const scratches: ScratchDatabase[] = [];
    let storesFolder: string;

    const create = (as: [string, string], domain: string, url: string) =>
      t.call('POST', CREATE, { as, body: { domain, type: 'jdbc', url, readOnly: false } });

    beforeAll(async () => {
      t = await startTestServer(
        kind,
        '\n[userstores]\nallowed_hosts = ["127.0.0.1", "localhost", "127.1", "[::1]"]\n',
      );
      const created = await t.call('POST', '/api/v1/tenants', {
        as: SUPER,
        body: { domain: 'acme.com', adminPassword: ACME[1] },
      });
      expect(created.status).toBe(201);
      storesFolder = path.join(t.home, 'repository', 'tenants', String(created.body.id), 'userstores');
      const target = parseDatabaseUrl(t.scratch.url, t.home);
      relay = await ipv6Relay(target.kind === 'sqlite' ? 0 : target.port);
    });
    afterAll(async () => {
      await relay?.close();
      await t?.stop();
      for (const s of scratches) await s.drop();
    });

    it('refuses the server database under localhost, 127.1, 127.0.0.1 and [::1], to the tenant admin and the super admin', async () => {
      const spellings = [
        withHost(t.scratch.url, 'localhost'),
        withHost(t.scratch.url, '127.1'),
        withHost(t.scratch.url, '127.0.0.1'),
        // Another address and another port: no comparison of URLs could tell.
        withHost(t.scratch.url, '[::1]', relay.port),
      ];
      for (const [index, url] of spellings.entries()) {
        for (const as of [ACME, SUPER]) {
          const refused = await create(as, `OWN${index}`, url);
          expect(refused.status, url).toBe(400);
          expect(refused.body.message).toContain("is the server's own database");
          const probe = await t.call('POST', PROBE, { as, body: { domain: 'X', type: 'jdbc', url } });
          expect(probe.body.ok).toBe(false);
          expect(probe.body.error).toContain("is the server's own database");
        }
      }
      expect(readdirSync(storesFolder)).toEqual([]);
      // What the refusal protects: PRIMARY's admin keeps its password and its sign-in.
      const login = await t.call('POST', '/api/v1/authenticate', {
        body: { username: 'admin@acme.com', password: ACME[1] },
      });
      expect(login.status).toBe(200);
      expect(login.body.store).toBe('PRIMARY');
    });

    it('refuses a database that holds tables of something else, creating nothing in it', async () => {
      const foreign = await scratchDatabase(kind, 'foreign');
      scratches.push(foreign);
      const opened = await openDatabase<unknown>(foreign.url, foreign.home);
      try {
        await sql`create table invoices (id integer primary key, amount integer)`.execute(opened.db);
      } finally {
        await opened.close();
      }
      for (const as of [ACME, SUPER]) {
        const refused = await create(as, 'FOREIGN', foreign.url);
        expect(refused.status).toBe(400);
        expect(refused.body.message).toContain('not a Tessera user store');
        expect(refused.body.message).not.toContain('invoices');
        const probe = await t.call('POST', PROBE, {
          as,
          body: { domain: 'X', type: 'jdbc', url: foreign.url },
        });
        expect(probe.body.ok).toBe(false);
        expect(probe.body.error).toContain('not a Tessera user store');
      }
      const after = await openDatabase<unknown>(foreign.url, foreign.home);
      try {
        const tables = (await after.db.introspection.getTables()).map((table) => table.name);
        expect(tables).toEqual(['invoices']);
      } finally {
        await after.close();
      }
      expect(existsSync(path.join(storesFolder, 'FOREIGN.toml'))).toBe(false);
    });

    it('refuses a tenant admin a host the operator did not list; the super admin is not bound by the list', async () => {
      const url = withHost(withDatabaseName(t.scratch.url, 'anything'), '127.0.0.2');
      const refused = await create(ACME, 'ELSEWHERE', url);
      expect(refused.status).toBe(403);
      expect(refused.body.message).toContain('database hosts the operator allows');
      const probe = await t.call('POST', PROBE, { as: ACME, body: { domain: 'X', type: 'jdbc', url } });
      expect(probe.body).toEqual({ ok: false, error: refused.body.message });
      const bySuper = await create(SUPER, 'ELSEWHERE', url);
      expect(bySuper.status).not.toBe(403);
    });

    it('accepts an empty database, and one that already holds a Tessera store', async () => {
      const empty = await scratchDatabase(kind, 'store');
      scratches.push(empty);
      const url = withHost(empty.url, 'localhost');
      expect(
        (await t.call('POST', PROBE, { as: ACME, body: { domain: 'X', type: 'jdbc', url } })).body,
      ).toEqual({
        ok: true,
      });
      const first = await create(ACME, 'PARTNERS', url);
      expect(first.status).toBe(201);
      expect(first.body.status).toBe('up');
      expect((await t.call('DELETE', `${CREATE}/PARTNERS`, { as: ACME })).status).toBe(204);
      // The store's tables stay behind; a store is welcome on them again.
      expect(
        (await t.call('POST', PROBE, { as: ACME, body: { domain: 'X', type: 'jdbc', url } })).body,
      ).toEqual({
        ok: true,
      });
      const again = await create(ACME, 'PARTNERS2', empty.url);
      expect(again.status).toBe(201);
      expect(again.body.status).toBe('up');
    });
  });
}
