import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createTenant } from '../../helpers/tenant-stores.js';
import { ROOT_PASSWORD, rootBindRequest, type Slapd, seed, startSlapd } from './slapd.js';

const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

describe('LDAP user stores through the REST API', () => {
  let slapd: Slapd;
  let t: TestServer;

  beforeAll(async () => {
    slapd = await startSlapd();
    await seed(slapd, [{ uid: 'erin', password: 'erin-ldap-pw', mail: 'erin@acme.test' }], {
      staff: ['erin'],
    });
    t = await startTestServer('sqlite');
    await createTenant(t, 'acme.com', ACME[1]);
  });
  afterAll(async () => {
    await t?.stop();
    await slapd?.dispose();
  });

  it('adds an LDAP store, a user in it, and authenticates that user', async () => {
    const created = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: {
        domain: 'LDAPSTORE',
        type: 'ldap',
        url: slapd.url,
        readOnly: false,
        description: 'Acme directory',
        ldap: rootBindRequest({ attributes: { email: 'mail' } }),
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      domain: 'LDAPSTORE',
      type: 'ldap',
      url: slapd.url,
      readOnly: false,
      description: 'Acme directory',
      status: 'up',
    });
    const listed = await t.call('GET', '/api/v1/tenants/acme.com/userstores', { as: ACME });
    expect(listed.body.userstores.map((s: { domain: string }) => s.domain)).toEqual(['PRIMARY', 'LDAPSTORE']);
    expect(JSON.stringify(listed.body)).not.toContain(ROOT_PASSWORD);

    const alice = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: 'LDAPSTORE/alice', password: 'alice-ldap-pw', roles: ['staff'] },
    });
    expect(alice.status).toBe(201);
    expect(alice.body).toMatchObject({ username: 'LDAPSTORE/alice', store: 'LDAPSTORE' });
    const login = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'LDAPSTORE/alice@acme.com', password: 'alice-ldap-pw' },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ tenant: 'acme.com', user: 'LDAPSTORE/alice', store: 'LDAPSTORE' });
    const staff = await t.call('GET', '/api/v1/tenants/acme.com/roles/LDAPSTORE%2Fstaff', { as: ACME });
    expect(staff.body).toMatchObject({
      name: 'LDAPSTORE/staff',
      store: 'LDAPSTORE',
      users: ['LDAPSTORE/alice', 'LDAPSTORE/erin'],
    });
    const wrong = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'LDAPSTORE/alice@acme.com', password: 'not-her-password' },
    });
    expect(wrong.status).toBe(401);
    const seeded = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'LDAPSTORE/erin@acme.com', password: 'erin-ldap-pw' },
    });
    expect(seeded.status).toBe(200);
    const users = await t.call('GET', '/api/v1/tenants/acme.com/users?store=LDAPSTORE', { as: ACME });
    expect(users.body.users.map((u: { username: string }) => u.username)).toEqual([
      'LDAPSTORE/alice',
      'LDAPSTORE/erin',
    ]);
  });

  it('refuses an LDAP store whose bind the directory rejects, with 400 and no password in the answer', async () => {
    const refused = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: {
        domain: 'BROKEN',
        type: 'ldap',
        url: slapd.url,
        ldap: rootBindRequest({ bindPassword: 'wrong-pw-123' }),
      },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).not.toContain('wrong-pw-123');
    const listed = await t.call('GET', '/api/v1/tenants/acme.com/userstores', { as: ACME });
    expect(listed.body.userstores.map((s: { domain: string }) => s.domain)).not.toContain('BROKEN');
  });
});
