import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import type { LdapSettings } from '../../../src/userstores/ldap/settings.js';
import { GENERIC_PROBE_ERROR } from '../../../src/userstores/probe.js';
import { ensureJdbcStoreSchema } from '../../../src/userstores/sql/sql-schema.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';
import { PEOPLE, ROOT_DN, rootBindRequest, type Slapd, startSlapd } from './slapd.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const PROBE = '/api/v1/tenants/acme.com/userstores/test';

const PROBE_TIMEOUT_MS = 2_000;

describe('POST /tenants/{domain}/userstores/test', () => {
  let slapd: Slapd;
  let t: TestServer;
  let ldapBody: (ldap?: Partial<LdapSettings>) => Record<string, unknown>;

  beforeAll(async () => {
    slapd = await startSlapd();
    // Short, so that each refusal a tenant admin waits out (to the timeout: see probe.ts) costs the suite little.
    t = await startTestServer('sqlite', `\n[userstores]\nconnect_timeout_ms = ${PROBE_TIMEOUT_MS}\n`);
    const tenant = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME[1] },
    });
    expect(tenant.status).toBe(201);
    ldapBody = (ldap = {}) => ({
      domain: 'DIRECTORY',
      type: 'ldap',
      url: slapd.url,
      readOnly: true,
      ldap: rootBindRequest(ldap),
    });
  });
  afterAll(async () => {
    await t?.stop();
    await slapd?.dispose();
  });

  it('answers ok for a directory that binds and has both search bases, and saves nothing', async () => {
    const probe = await t.call('POST', PROBE, { as: ACME, body: ldapBody() });
    expect(probe.status).toBe(200);
    expect(probe.body).toEqual({ ok: true });
    const stores = await t.call('GET', '/api/v1/tenants/acme.com/userstores', { as: ACME });
    expect(stores.body.userstores.map((s: { domain: string }) => s.domain)).toEqual(['PRIMARY']);
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    const folder = path.join(t.home, 'repository', 'tenants', String(acmeId), 'userstores');
    expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
  });

  it('explains a refused bind to the super admin without echoing the password; a tenant admin learns only that it failed', async () => {
    const body = ldapBody({ bindPassword: 'not-the-root-password' });
    const probe = await t.call('POST', PROBE, { as: SUPER, body });
    expect(probe.status).toBe(200);
    expect(probe.body.ok).toBe(false);
    expect(probe.body.error).toContain(`refused the bind DN ${ROOT_DN}`);
    expect(probe.body.error).not.toContain('not-the-root-password');
    expect((await t.call('POST', PROBE, { as: ACME, body })).body).toEqual({
      ok: false,
      error: GENERIC_PROBE_ERROR,
    });
  });

  it('names the search base that does not exist (to the super admin)', async () => {
    const missing = `ou=nobody,${PEOPLE.split(',').slice(1).join(',')}`;
    const body = ldapBody({ groupSearchBase: missing });
    const probe = await t.call('POST', PROBE, { as: SUPER, body });
    expect(probe.body).toEqual({
      ok: false,
      error: `The group_search_base ${missing} does not exist in the directory (or the bind DN cannot see it).`,
    });
    expect((await t.call('POST', PROBE, { as: ACME, body })).body).toEqual({
      ok: false,
      error: GENERIC_PROBE_ERROR,
    });
  });

  it('reports a directory that does not answer, and a definition missing its LDAP settings', async () => {
    const downBody = { ...ldapBody({ timeoutMs: 2_000 }), url: 'ldap://127.0.0.1:1' };
    const down = await t.call('POST', PROBE, { as: SUPER, body: downBody });
    expect(down.body.ok).toBe(false);
    expect(down.body.error).toContain('The LDAP server ldap://127.0.0.1:1 is not available');
    // A tenant admin must not learn which hosts and ports answer on the server's network.
    expect((await t.call('POST', PROBE, { as: ACME, body: downBody })).body).toEqual({
      ok: false,
      error: GENERIC_PROBE_ERROR,
    });
    const bare = await t.call('POST', PROBE, {
      as: ACME,
      body: { domain: 'DIRECTORY', type: 'ldap', url: slapd.url },
    });
    expect(bare.body).toEqual({
      ok: false,
      error: 'The user store definition is not valid: the key "bind_dn" is missing (an LDAP store needs it).',
    });
  });

  it('tries a JDBC definition: a new SQLite file is fine and not created, the server database is refused', async () => {
    const fresh = await t.call('POST', PROBE, {
      as: SUPER,
      body: { domain: 'PARTNERS', type: 'jdbc', url: 'sqlite:repository/database/probe-partners.db' },
    });
    expect(fresh.body).toEqual({ ok: true });
    expect(existsSync(path.join(t.home, 'repository', 'database', 'probe-partners.db'))).toBe(false);
    const own = await t.call('POST', PROBE, {
      as: ACME,
      body: { domain: 'PARTNERS', type: 'jdbc', url: 'sqlite:repository/database/tessera.db' },
    });
    expect(own.body.ok).toBe(false);
    expect(own.body.error).toContain("is the server's own database");
    const unreachable = await t.call('POST', PROBE, {
      as: ACME,
      body: { domain: 'PARTNERS', type: 'jdbc', url: 'postgres://postgres@127.0.0.1:1/nothing' },
    });
    expect(unreachable.body.ok).toBe(false);
    expect(unreachable.body.error.length).toBeGreaterThan(0);
  });

  it('accepts a JDBC database holding the store tables, and refuses one holding only some of them', async () => {
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    // Inside the tenant's folder: a tenant admin may probe no other file.
    const url = `sqlite:repository/tenants/${acmeId}/probe-existing.db`;
    const database = await openDatabase<unknown>(url, t.home);
    try {
      await ensureJdbcStoreSchema(database);
    } finally {
      await database.close();
    }
    const body = { domain: 'PARTNERS', type: 'jdbc', url };
    expect((await t.call('POST', PROBE, { as: ACME, body })).body).toEqual({ ok: true });
    const again = await openDatabase<unknown>(url, t.home);
    try {
      await again.db.schema.dropTable('user_attributes').execute();
    } finally {
      await again.close();
    }
    expect((await t.call('POST', PROBE, { as: ACME, body })).body).toEqual({
      ok: false,
      error:
        'The database has the store tables users, roles, user_roles but not user_attributes; it does not look like a Tessera user store.',
    });
  });

  it('refuses callers who do not manage the tenant', async () => {
    const anonymous = await t.call('POST', PROBE, { body: ldapBody() });
    expect(anonymous.status).toBe(401);
  });
});
