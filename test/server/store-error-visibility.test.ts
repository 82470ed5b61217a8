import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNREACHABLE_MESSAGE } from '../../src/userstores/reach-errors.js';
import { freePort } from '../helpers/ports.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

/** Text that tells where a store's database is and how the connection failed. */
function driverDetails(text: string, port: number): string[] {
  return [
    '127.0.0.1',
    `:${port}`,
    'ECONN',
    'refused',
    'timeout',
    'LDAP server',
    'PostgreSQL',
    'MySQL',
  ].filter((needle) => text.includes(needle));
}

describe("a store's driver error reaches the super admin only", () => {
  let t: TestServer;
  let port: number;
  // One dead store per kind of store that reaches a server: PostgreSQL, MySQL/MariaDB, LDAP.
  const DEAD = ['DEADPG', 'DEADMY', 'DEADLDAP'];

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    port = await freePort(); // nothing listens there: every connection is refused at once
    const created = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME[1] },
    });
    expect(created.status).toBe(201);
    const folder = path.join(t.home, 'repository', 'tenants', String(created.body.id), 'userstores');
    const files: Record<string, string> = {
      DEADPG: `domain = "DEADPG"\ntype = "jdbc"\nurl = "postgres://postgres:pw@127.0.0.1:${port}/nothing"\n`,
      DEADMY: `domain = "DEADMY"\ntype = "jdbc"\nurl = "mysql://root:pw@127.0.0.1:${port}/nothing"\n`,
      DEADLDAP: [
        'domain = "DEADLDAP"',
        'type = "ldap"',
        `url = "ldap://127.0.0.1:${port}"`,
        'bind_dn = "cn=svc,dc=acme,dc=com"',
        'bind_password = "svc-pw"',
        'user_search_base = "ou=people,dc=acme,dc=com"',
        'group_search_base = "ou=groups,dc=acme,dc=com"',
        'timeout_ms = 2000',
        '',
      ].join('\n'),
    };
    for (const [domain, text] of Object.entries(files))
      writeFileSync(path.join(folder, `${domain}.toml`), text);
    await t.server.context.stores.rescan();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('GET .../userstores: the tenant admin gets the status without the reason; the super admin gets the reason', async () => {
    const mine = await t.call('GET', '/api/v1/tenants/acme.com/userstores', { as: ACME });
    expect(mine.status).toBe(200);
    const dead = mine.body.userstores.filter((s: { domain: string }) => DEAD.includes(s.domain));
    expect(dead).toHaveLength(3);
    for (const store of dead) {
      expect(store.status).toBe('error');
      expect(store.error).toBe(UNREACHABLE_MESSAGE);
    }
    // The URL the tenant wrote stays (password masked); only what the driver answered goes.
    const reasons = JSON.stringify(dead.map((s: { error: string }) => s.error));
    expect(driverDetails(reasons, port)).toEqual([]);

    const all = await t.call('GET', '/api/v1/tenants/acme.com/userstores', { as: SUPER });
    for (const store of all.body.userstores.filter((s: { domain: string }) => DEAD.includes(s.domain))) {
      expect(store.status).toBe('error');
      expect(store.error).toContain(`127.0.0.1:${port}`);
      expect(store.error).not.toContain('pw@');
    }
  });

  it('refuses a tenant admin every database server while the operator lists none (the default)', async () => {
    const body = {
      domain: 'MINE',
      type: 'jdbc',
      url: `postgres://postgres@127.0.0.1:${port}/x`,
      readOnly: false,
    };
    const refused = await t.call('POST', '/api/v1/tenants/acme.com/userstores', { as: ACME, body });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('userstores.allowed_hosts');
  });

  it('every users and roles route naming a dead store answers the code without the reason to the tenant admin', async () => {
    for (const store of DEAD) {
      const routes: [string, string, unknown?][] = [
        ['GET', `/api/v1/tenants/acme.com/users?store=${store}`],
        ['GET', `/api/v1/tenants/acme.com/users/${store}%2Falice`],
        ['POST', '/api/v1/tenants/acme.com/users', { username: `${store}/bob`, password: 'bob-password-1' }],
        ['PUT', `/api/v1/tenants/acme.com/users/${store}%2Falice/password`, { password: 'new-password-1' }],
        ['POST', '/api/v1/tenants/acme.com/roles', { name: `${store}/devs` }],
      ];
      for (const [method, route, body] of routes) {
        const tenantAdmin = await t.call(method, route, { as: ACME, body });
        expect(tenantAdmin.status, `${method} ${route}`).toBe(503);
        expect(tenantAdmin.body).toEqual({ error: 'STORE_UNAVAILABLE', message: UNREACHABLE_MESSAGE });
        const superAdmin = await t.call(method, route, { as: SUPER, body });
        expect(superAdmin.status).toBe(503);
        expect(superAdmin.body.message).toContain(`127.0.0.1:${port}`);
      }
    }
  });
});
