import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { legacySha256 } from '../../src/userstores/passwords.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { ALLOW_LOCAL_STORE_HOSTS, createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const GLOBEX: [string, string] = ['admin@globex.com', 'globex-admin-pw'];

describe.each(DATABASE_KINDS)('admin API on %s', (kind) => {
  let t: TestServer;
  let partners: ScratchDatabase | undefined;

  beforeAll(async () => {
    // The tenant admin adds a store on the test database server, which the operator must allow.
    t = await startTestServer(kind, ALLOW_LOCAL_STORE_HOSTS);
    await createTenant(t, 'acme.com', ACME[1]);
    await createTenant(t, 'globex.com', GLOBEX[1]);
  });
  afterAll(async () => {
    await t?.stop();
    await partners?.drop();
  });

  it('answers health, readiness, metrics and the OpenAPI document without authentication', async () => {
    expect((await t.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await t.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      ready: true,
      schema: 'current',
      database: kind,
      release: CURRENT_RELEASE,
    });
    const metrics = await t.call('GET', '/metrics');
    expect(metrics.body).toContain('tessera_http_requests_total');
    expect(metrics.body).toContain('tessera_authentications_total');
    const openapi = await t.call('GET', '/openapi.json');
    expect(openapi.body.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/tenants',
        '/api/v1/tenants/{domain}/users',
        '/api/v1/tenants/{domain}/userstores',
        '/api/v1/authenticate',
      ]),
    );
  });

  it('refuses missing and wrong credentials alike, with 401 and a Basic challenge', async () => {
    const none = await t.call('GET', '/api/v1/tenants');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic');
    const wrongPassword = await t.call('GET', '/api/v1/tenants', { as: ['admin', 'nope-nope'] });
    const unknownUser = await t.call('GET', '/api/v1/tenants', { as: ['ghost', 'nope-nope'] });
    const unknownTenant = await t.call('GET', '/api/v1/tenants', { as: ['admin@nowhere.org', 'nope-nope'] });
    expect([wrongPassword.status, unknownUser.status, unknownTenant.status]).toEqual([401, 401, 401]);
    expect(wrongPassword.body).toEqual(unknownUser.body);
    expect(unknownUser.body).toEqual(unknownTenant.body);
  });

  it('creates tenants, refusing duplicates and bad domains', async () => {
    const list = await t.call('GET', '/api/v1/tenants', { as: SUPER });
    expect(list.body.tenants.map((x: { domain: string }) => x.domain)).toEqual([
      'carbon.super',
      'acme.com',
      'globex.com',
    ]);
    const duplicate = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: 'whatever-pw' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toBe('CONFLICT');
    const bad = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'Not A Domain', adminPassword: 'whatever-pw' },
    });
    expect(bad.status).toBe(400);
    const short = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'short.org', adminPassword: 'x' },
    });
    expect(short.status).toBe(400);
    expect((await t.call('GET', '/api/v1/tenants/short.org', { as: SUPER })).status).toBe(404);
  });

  it("keeps a tenant admin inside its own tenant: another tenant's resources do not exist", async () => {
    const mine = await t.call('GET', '/api/v1/tenants', { as: ACME });
    expect(mine.body.tenants.map((x: { domain: string }) => x.domain)).toEqual(['acme.com']);
    expect((await t.call('GET', '/api/v1/tenants/globex.com', { as: ACME })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/globex.com/users', { as: ACME })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/carbon.super/users', { as: ACME })).status).toBe(404);
    expect(
      (
        await t.call('POST', '/api/v1/tenants/globex.com/users', {
          as: ACME,
          body: { username: 'x', password: 'password-1' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await t.call('POST', '/api/v1/tenants', {
          as: ACME,
          body: { domain: 'evil.org', adminPassword: 'password-1' },
        })
      ).status,
    ).toBe(403);
    expect((await t.call('DELETE', '/api/v1/tenants/globex.com', { as: ACME })).status).toBe(403);
  });

  it('manages users and roles per tenant, isolated, and authenticates them', async () => {
    expect(
      (await t.call('POST', '/api/v1/tenants/acme.com/roles', { as: ACME, body: { name: 'developers' } }))
        .status,
    ).toBe(201);
    const alice = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: {
        username: 'alice',
        password: 'alice-acme-pw',
        roles: ['developers'],
        attributes: { email: 'alice@acme.com', givenName: 'Zoë' },
      },
    });
    expect(alice.status).toBe(201);
    expect(alice.body).toEqual({
      username: 'alice',
      store: 'PRIMARY',
      roles: ['developers'],
      attributes: { email: 'alice@acme.com', givenName: 'Zoë' },
      system: false,
    });
    const globexAlice = await t.call('POST', '/api/v1/tenants/globex.com/users', {
      as: GLOBEX,
      body: { username: 'alice', password: 'alice-globex-pw' },
    });
    expect(globexAlice.status).toBe(201);

    const duplicate = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: 'alice', password: 'another-pw' },
    });
    expect(duplicate.status).toBe(409);
    const unknownRole = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: 'carol', password: 'carol-acme-pw', roles: ['nonexistent'] },
    });
    expect(unknownRole.status).toBe(400);
    const unknownStore = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: 'NOSUCH/carol', password: 'carol-acme-pw' },
    });
    expect(unknownStore.status).toBe(400);
    expect(unknownStore.body.message).toContain('NOSUCH');

    const ok = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'alice@acme.com', password: 'alice-acme-pw' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ tenant: 'acme.com', user: 'alice', store: 'PRIMARY', roles: ['developers'] });
    const crossed = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'alice@globex.com', password: 'alice-acme-pw' },
    });
    expect(crossed.status).toBe(401);
    const globexOk = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'alice@globex.com', password: 'alice-globex-pw' },
    });
    expect(globexOk.body.roles).toEqual([]);

    const acmeUsers = await t.call('GET', '/api/v1/tenants/acme.com/users', { as: ACME });
    expect(acmeUsers.body.users.map((u: { username: string }) => u.username)).toEqual(['admin', 'alice']);
    const role = await t.call('GET', '/api/v1/tenants/acme.com/roles/developers', { as: ACME });
    expect(role.body).toEqual({ name: 'developers', store: 'PRIMARY', users: ['alice'], system: false });
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/users/admin', { as: ACME })).status).toBe(403);
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/users/alice', { as: ACME })).status).toBe(204);
    expect((await t.call('GET', '/api/v1/tenants/acme.com/users/alice', { as: ACME })).status).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/globex.com/users/alice', { as: GLOBEX })).status).toBe(200);
  });

  it('adds a secondary JDBC store through the API, writing its file, and serves its users with a prefix', async () => {
    const serverUrl = kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : t.scratch.url;
    const onServerDb = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: { domain: 'SHARED', type: 'jdbc', url: serverUrl, readOnly: false },
    });
    expect(onServerDb.status).toBe(400);
    expect(onServerDb.body.message).toContain('a database of its own');
    partners = kind === 'sqlite' ? undefined : await scratchDatabase(kind, 'partners');
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    // A tenant admin's SQLite store must live in the tenant's own folder.
    const storeUrl = partners?.url ?? `sqlite:repository/tenants/${acmeId}/acme-partners.db`;
    const created = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: { domain: 'PARTNERS', type: 'jdbc', url: storeUrl, readOnly: false },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ domain: 'PARTNERS', type: 'jdbc', readOnly: false, status: 'up' });
    expect(
      existsSync(path.join(t.home, 'repository', 'tenants', String(acmeId), 'userstores', 'PARTNERS.toml')),
    ).toBe(true);
    const duplicate = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: { domain: 'PARTNERS', type: 'jdbc', url: storeUrl, readOnly: false },
    });
    expect(duplicate.status).toBe(409);

    const bob = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: 'PARTNERS/bob', password: 'bob-partner-pw' },
    });
    expect(bob.status).toBe(201);
    expect(bob.body).toMatchObject({ username: 'PARTNERS/bob', store: 'PARTNERS' });
    const login = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'PARTNERS/bob@acme.com', password: 'bob-partner-pw' },
    });
    expect(login.body).toMatchObject({ tenant: 'acme.com', user: 'PARTNERS/bob', store: 'PARTNERS' });
    // globex has no such store: the same name resolves nowhere there.
    const elsewhere = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'PARTNERS/bob@globex.com', password: 'bob-partner-pw' },
    });
    expect(elsewhere.status).toBe(401);
    // One page over PRIMARY then PARTNERS, whatever the offset.
    const all = await t.call('GET', '/api/v1/tenants/acme.com/users', { as: ACME });
    expect(all.body.users.map((u: { username: string }) => u.username)).toEqual(['admin', 'PARTNERS/bob']);
    const second = await t.call('GET', '/api/v1/tenants/acme.com/users?offset=1&limit=1', { as: ACME });
    expect(second.body.users.map((u: { username: string }) => u.username)).toEqual(['PARTNERS/bob']);
    const far = await t.call('GET', '/api/v1/tenants/acme.com/users?offset=995&limit=10', { as: ACME });
    expect(far.status).toBe(200);
    expect(far.body.users).toEqual([]);
    const farRoles = await t.call('GET', '/api/v1/tenants/acme.com/roles?offset=995&limit=10', { as: ACME });
    expect(farRoles.body).toEqual({ roles: [] });
    const stores = await t.call('GET', '/api/v1/tenants/acme.com/userstores', { as: ACME });
    expect(stores.body.userstores.map((s: { domain: string }) => s.domain)).toEqual(['PRIMARY', 'PARTNERS']);
  });

  it('re-hashes a 1.0 salted SHA-256 password to argon2id at the next successful login', async () => {
    const db = t.server.context.database.db;
    const tenant = await db
      .selectFrom('tenants')
      .select('id')
      .where('domain', '=', 'globex.com')
      .executeTakeFirstOrThrow();
    const salt = '00112233445566778899aabbccddeeff';
    await db
      .insertInto('users')
      .values({
        tenant_id: tenant.id,
        username: 'legacy',
        password_hash: legacySha256('legacy-password', salt),
        password_salt: salt,
        password_algorithm: 'sha256',
        is_system: 0,
        created_at: 1,
      })
      .execute();
    expect(
      (
        await t.call('POST', '/api/v1/authenticate', {
          body: { username: 'legacy@globex.com', password: 'wrong-password' },
        })
      ).status,
    ).toBe(401);
    const before = await db
      .selectFrom('users')
      .select(['password_algorithm'])
      .where('username', '=', 'legacy')
      .executeTakeFirstOrThrow();
    expect(before.password_algorithm).toBe('sha256');
    expect(
      (
        await t.call('POST', '/api/v1/authenticate', {
          body: { username: 'legacy@globex.com', password: 'legacy-password' },
        })
      ).status,
    ).toBe(200);
    const after = await db
      .selectFrom('users')
      .select(['password_algorithm', 'password_hash', 'password_salt'])
      .where('username', '=', 'legacy')
      .executeTakeFirstOrThrow();
    expect(after.password_algorithm).toBe('argon2id');
    expect(after.password_hash).toMatch(/^\$argon2id\$/);
    expect(after.password_salt).toBe('');
    expect(
      (
        await t.call('POST', '/api/v1/authenticate', {
          body: { username: 'legacy@globex.com', password: 'legacy-password' },
        })
      ).status,
    ).toBe(200);
  });

  it('deactivates and deletes tenants: their users stop authenticating and their folder is kept in backups', async () => {
    await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'initech.com', adminPassword: 'initech-admin-pw' },
    });
    const login = { username: 'admin@initech.com', password: 'initech-admin-pw' };
    expect((await t.call('POST', '/api/v1/authenticate', { body: login })).status).toBe(200);
    const off = await t.call('PATCH', '/api/v1/tenants/initech.com', { as: SUPER, body: { active: false } });
    expect(off.body.active).toBe(false);
    expect((await t.call('POST', '/api/v1/authenticate', { body: login })).status).toBe(401);
    expect((await t.call('DELETE', '/api/v1/tenants/initech.com', { as: SUPER })).status).toBe(204);
    expect((await t.call('GET', '/api/v1/tenants/initech.com', { as: SUPER })).status).toBe(404);
    expect(readdirSync(path.join(t.home, 'backups')).some((name) => name.startsWith('deleted-tenant-'))).toBe(
      true,
    );
    expect((await t.call('DELETE', '/api/v1/tenants/carbon.super', { as: SUPER })).status).toBe(403);
  });

  it('records changes in the audit log and never writes a password to the logs', async () => {
    const db = t.server.context.database.db;
    const actions = await db.selectFrom('audit_log').select('action').execute();
    expect(actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(['tenant.create', 'user.create', 'userstore.create']),
    );
    await new Promise((resolve) => t.server.context.logger.flush(resolve));
    const log = readFileSync(path.join(t.home, 'logs', 'tessera.log'), 'utf8');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [ADMIN_PASSWORD, ACME[1], 'alice-acme-pw', 'bob-partner-pw', 'legacy-password']) {
      expect(log).not.toContain(secret);
    }
    const count = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(db);
    expect(Number(count.rows[0]?.n)).toBeGreaterThan(3);
  });
});
