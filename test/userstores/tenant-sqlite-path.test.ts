import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant, expectStoreServesUsers, jdbcStore } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const PROBE = '/api/v1/tenants/acme.com/userstores/test';
const CREATE = '/api/v1/tenants/acme.com/userstores';

// SQLite paths only: the store's engine does not matter to where a path points.
describe("a tenant admin's relative SQLite path is relative to the tenant's folder", () => {
  let t: TestServer;
  let acmeFolder: string;
  /** The tenant's folder as store files name it: `repository/tenants/<id>`. */
  let acmeHomeForm: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    const created = await createTenant(t, 'acme.com', ACME[1]);
    acmeHomeForm = `repository/tenants/${created.body.id}`;
    acmeFolder = path.join(t.home, acmeHomeForm);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sqlite:partners.db lands in the tenant folder, is written home-relative, and serves users', async () => {
    expect(
      (await t.call('POST', PROBE, { as: ACME, body: jdbcStore('PARTNERS', 'sqlite:partners.db') })).body,
    ).toEqual({ ok: true });
    expect(existsSync(path.join(acmeFolder, 'partners.db'))).toBe(false);

    const created = await t.call('POST', CREATE, {
      as: ACME,
      body: jdbcStore('PARTNERS', 'sqlite:partners.db'),
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('up');
    expect(created.body.url).toBe(`sqlite:${acmeHomeForm}/partners.db`);
    expect(existsSync(path.join(acmeFolder, 'partners.db'))).toBe(true);
    expect(existsSync(path.join(t.home, 'partners.db'))).toBe(false);
    // The file keeps the one meaning store files have: relative to the home.
    const file = readFileSync(path.join(acmeFolder, 'userstores', 'PARTNERS.toml'), 'utf8');
    expect(file).toContain(`url = "sqlite:${acmeHomeForm}/partners.db"`);
    await expectStoreServesUsers(t, ACME, 'PARTNERS', 'alice');

    const nested = await t.call('POST', CREATE, {
      as: ACME,
      body: jdbcStore('NESTED', 'sqlite:stores/nested.db'),
    });
    expect(nested.status).toBe(201);
    expect(existsSync(path.join(acmeFolder, 'stores', 'nested.db'))).toBe(true);
  });

  it('keeps the home-relative form a tenant admin had to type before', async () => {
    const created = await t.call('POST', CREATE, {
      as: ACME,
      body: jdbcStore('LEGACY', `sqlite:${acmeHomeForm}/legacy.db`),
    });
    expect(created.status).toBe(201);
    expect(existsSync(path.join(acmeFolder, 'legacy.db'))).toBe(true);
    expect(existsSync(path.join(acmeFolder, acmeHomeForm))).toBe(false);
  });

  it('refuses ../ and absolute paths elsewhere, naming the folder both ways, and creates nothing', async () => {
    const elsewhere = path.join(os.tmpdir(), `tessera-elsewhere-${process.pid}.db`);
    for (const url of ['sqlite:../x.db', 'sqlite:stores/../../x.db', `sqlite:${elsewhere}`]) {
      const refused = await t.call('POST', CREATE, { as: ACME, body: jdbcStore('OUTSIDE', url) });
      expect(refused.status, url).toBe(403);
      expect(refused.body.message).toContain(`${url} is not`);
      expect(refused.body.message).toContain('relative to that folder (sqlite:partners.db');
      expect(refused.body.message).toContain(`which is ${acmeHomeForm}/ in the home`);
      // The server's own paths are not the tenant admin's to learn.
      expect(refused.body.message).not.toContain(t.home);
      const probe = await t.call('POST', PROBE, { as: ACME, body: jdbcStore('OUTSIDE', url) });
      expect(probe.body).toEqual({ ok: false, error: refused.body.message });
    }
    expect(existsSync(path.join(acmeFolder, '..', 'x.db'))).toBe(false);
    expect(existsSync(elsewhere)).toBe(false);
    expect(existsSync(path.join(acmeFolder, 'userstores', 'OUTSIDE.toml'))).toBe(false);
  });

  it("leaves the super admin's relative paths relative to the home", async () => {
    const created = await t.call('POST', CREATE, {
      as: SUPER,
      body: jdbcStore('CENTRAL', 'sqlite:central.db'),
    });
    expect(created.status).toBe(201);
    expect(created.body.url).toBe('sqlite:central.db');
    expect(existsSync(path.join(t.home, 'central.db'))).toBe(true);
    expect(existsSync(path.join(acmeFolder, 'central.db'))).toBe(false);
    await expectStoreServesUsers(t, ACME, 'CENTRAL', 'dave');
  });
});
