import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeSmokeLogins } from '../../src/upgrade/steps/smoke/leftovers.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { ADMIN_PASSWORD, basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const GLOBEX: [string, string] = ['admin@globex.com', 'globex-admin-pw'];
const PASSWORD = 'alice-right-pw';

describe.each(DATABASE_KINDS)('logins in the audit trail on %s', (kind) => {
  let t: TestServer;
  const authenticate = (username: string, password: string) =>
    t.call('POST', '/api/v1/authenticate', { body: { username, password } });
  /** acme.com's login entries, oldest first, as the API gives them, but for its admin's (every Basic call is one). */
  const loginEntries = async (query = '') => {
    const page = await t.call('GET', `/api/v1/tenants/acme.com/audit?action=login.${query}`, { as: ACME });
    expect(page.status).toBe(200);
    return (page.body.entries as { actor: string; action: string; target: string; detail: unknown }[])
      .filter((entry) => entry.actor !== ACME[0])
      .map(({ actor, action, target, detail }) => ({ actor, action, target, detail }))
      .reverse();
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    await createTenant(t, 'acme.com', ACME[1]);
    await createTenant(t, 'globex.com', GLOBEX[1]);
    const created = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: 'alice', password: PASSWORD },
    });
    expect(created.status).toBe(201);
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    const members = path.join(t.home, 'repository', 'tenants', String(acmeId), 'webapps', 'members');
    mkdirSync(members, { recursive: true });
    writeFileSync(path.join(members, 'index.html'), 'members only');
    writeFileSync(path.join(members, 'tessera-app.toml'), 'login = true\n');
    await t.server.context.deployer.rescan();
    const set = await t.call('PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: ACME,
      body: { account: { maxFailures: 3, lockSeconds: 600 } },
    });
    expect(set.status).toBe(200);
    // The calls above logged in as acme's admin: the trail below starts after them.
    await t.server.context.database.db.deleteFrom('audit_log').where('action', 'like', 'login.%').execute();
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('records every attempt on every path: who typed what, how it went and why, from where', async () => {
    const address = '127.0.0.1';
    expect((await authenticate('alice@acme.com', PASSWORD)).status).toBe(200);
    expect((await authenticate('nobody@acme.com', 'x')).status).toBe(401);
    expect((await authenticate('NOSUCH/alice@acme.com', 'x')).status).toBe(401);
    expect((await authenticate('alice@acme.com', 'wrong')).status).toBe(401);
    expect(
      (
        await fetch(`${t.server.url}/api/v1/sessions/current`, {
          headers: { authorization: basicAuthorization(['alice@acme.com', 'wrong']) },
        })
      ).status,
    ).toBe(401);
    const session = await t.call('POST', '/api/v1/sessions', {
      body: { username: 'alice@acme.com', password: 'x' },
    });
    expect(session.status).toBe(401);
    // The third failure locked alice: the app's login, right password and all, is refused without a check.
    const app = await fetch(`${t.server.url}/t/acme.com/members/`, {
      headers: { authorization: basicAuthorization(['alice', PASSWORD]) },
    });
    expect(app.status).toBe(429);

    expect(await loginEntries()).toEqual([
      {
        actor: 'alice@acme.com',
        action: 'login.success',
        target: 'authenticate',
        detail: { reason: 'ok', store: 'PRIMARY', address },
      },
      {
        actor: 'nobody@acme.com',
        action: 'login.failure',
        target: 'authenticate',
        detail: { reason: 'unknown-user', store: 'PRIMARY', address },
      },
      {
        actor: 'NOSUCH/alice@acme.com',
        action: 'login.failure',
        target: 'authenticate',
        detail: { reason: 'unknown-store', store: 'NOSUCH', address },
      },
      {
        actor: 'alice@acme.com',
        action: 'login.failure',
        target: 'authenticate',
        detail: { reason: 'wrong-password', store: 'PRIMARY', address },
      },
      {
        actor: 'alice@acme.com',
        action: 'login.failure',
        target: 'basic',
        detail: { reason: 'wrong-password', store: 'PRIMARY', address },
      },
      {
        actor: 'alice@acme.com',
        action: 'login.failure',
        target: 'session',
        detail: { reason: 'wrong-password', store: 'PRIMARY', address },
      },
      {
        actor: 'alice',
        action: 'login.locked',
        target: 'app:members',
        detail: { reason: 'locked-account', store: 'PRIMARY', address },
      },
    ]);
    // Names in tenants that do not exist are the server's to see, in the super tenant's trail.
    expect((await authenticate('alice@nowhere.example', 'x')).status).toBe(401);
    const server = await t.call('GET', '/api/v1/tenants/carbon.super/audit?actor=alice@nowhere.example', {
      as: SUPER,
    });
    expect(server.body.entries).toHaveLength(1);
    expect(server.body.entries[0]).toMatchObject({
      action: 'login.failure',
      detail: { reason: 'unknown-tenant' },
    });
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/lockouts/alice', { as: ACME })).status).toBe(
      204,
    );
  });

  it('filters by action prefix, actor and time, pages by cursor, and keeps each tenant to its own', async () => {
    const from = new Date().toISOString();
    for (let i = 0; i < 5; i++) expect((await authenticate('alice@acme.com', PASSWORD)).status).toBe(200);
    const first = await t.call(
      'GET',
      `/api/v1/tenants/acme.com/audit?actor=alice@acme.com&since=${from}&limit=2`,
      {
        as: ACME,
      },
    );
    expect(first.status).toBe(200);
    expect(first.body.entries).toHaveLength(2);
    const seen: number[] = first.body.entries.map((entry: { id: number }) => entry.id);
    let next: number | undefined = first.body.next;
    while (next !== undefined) {
      const page = await t.call(
        'GET',
        `/api/v1/tenants/acme.com/audit?actor=alice@acme.com&since=${from}&limit=2&before=${next}`,
        { as: ACME },
      );
      seen.push(...page.body.entries.map((entry: { id: number }) => entry.id));
      next = page.body.next;
    }
    // Five logins, newest first, each once.
    expect(seen).toHaveLength(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    // The admin's own change (the lockout clear of the test before) is not a login.
    const clears = await t.call('GET', '/api/v1/tenants/acme.com/audit?action=lockout.', { as: ACME });
    expect(clears.body.entries.map((entry: { action: string }) => entry.action)).toEqual(['lockout.clear']);
    const until = await t.call(
      'GET',
      `/api/v1/tenants/acme.com/audit?until=${from}&action=login.success&actor=alice@acme.com`,
      {
        as: ACME,
      },
    );
    expect(until.body.entries).toHaveLength(1);
    // Another tenant's admin sees no such tenant; the limit has a ceiling.
    expect((await t.call('GET', '/api/v1/tenants/acme.com/audit', { as: GLOBEX })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/acme.com/audit?limit=501', { as: ACME })).status).toBe(400);
    const globex = await t.call(
      'GET',
      '/api/v1/tenants/globex.com/audit?action=login.&actor=alice@acme.com',
      { as: GLOBEX },
    );
    expect(globex.body.entries).toEqual([]);
  });

  it("lets the upgrade's smoke step remove what its logins wrote, and nothing older", async () => {
    const { db } = t.server.context.database;
    const loginRows = (from: number) =>
      db
        .selectFrom('audit_log')
        .select('id')
        .where('action', 'like', 'login.%')
        .where('created_at', '>=', from)
        .execute();
    const older = await loginRows(0);
    const since = Date.now();
    expect((await authenticate('alice@acme.com', PASSWORD)).status).toBe(200);
    expect((await authenticate('ghost@acme.com', 'wrong')).status).toBe(401);
    expect((await loginRows(since)).length).toBe(2);
    expect(await removeSmokeLogins(db, since)).toBe(2);
    expect(await loginRows(0)).toEqual(older);
    const counts = await db
      .selectFrom('login_failures')
      .select('subject')
      .where('last_failure_at', '>=', since)
      .execute();
    expect(counts).toEqual([]);
    // The changes made through the API stay.
    expect(
      await db.selectFrom('audit_log').select('id').where('action', '=', 'lockout.clear').execute(),
    ).toHaveLength(1);
  });

  it('lets a login succeed when its audit row cannot be written', async () => {
    await sql`DROP TABLE audit_log`.execute(t.server.context.database.db);
    expect((await authenticate('alice@acme.com', PASSWORD)).status).toBe(200);
    expect((await authenticate('alice@acme.com', 'wrong')).status).toBe(401);
  });
});
