import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERIC_PROBE_ERROR } from '../../src/userstores/probe.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { ALLOW_LOCAL_STORE_HOSTS, createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const PROBE = '/api/v1/tenants/acme.com/userstores/test';
/** Short, so that each refusal a tenant admin waits out (to the timeout: see probe.ts) costs the suite little. */
const PROBE_TIMEOUT_MS = 1_500;
const CREATE = '/api/v1/tenants/acme.com/userstores';

/** Byte 18 of a SQLite header: 1 for a rollback journal, 2 for WAL. */
function journalModeByte(file: string): number | undefined {
  return readFileSync(file)[18];
}

describe('a tenant admin can probe and add SQLite stores in its own folder only', () => {
  let t: TestServer;
  let acmeFolder: string;
  let globexFolder: string;
  const jdbc = (url: string) => ({ domain: 'PARTNERS', type: 'jdbc', url });

  beforeAll(async () => {
    // The loopback database server is one a tenant admin may use here (none is, by default).
    t = await startTestServer(
      'sqlite',
      `${ALLOW_LOCAL_STORE_HOSTS}connect_timeout_ms = ${PROBE_TIMEOUT_MS}\n`,
    );
    await createTenant(t, 'acme.com', ACME[1]);
    await createTenant(t, 'globex.com', 'globex-admin-pw');
    const idOf = async (domain: string) =>
      (await t.call('GET', `/api/v1/tenants/${domain}`, { as: SUPER })).body.id;
    acmeFolder = path.join(t.home, 'repository', 'tenants', String(await idOf('acme.com')));
    globexFolder = path.join(t.home, 'repository', 'tenants', String(await idOf('globex.com')));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses files outside the tenant folder alike whether they exist or not', async () => {
    const answers = [];
    for (const url of [
      'sqlite:/etc/passwd',
      'sqlite:/etc/no-such-file.db',
      'sqlite:repository/database/other.db',
      `sqlite:${path.join(acmeFolder, '..', path.basename(globexFolder), 'x.db')}`,
      `sqlite:${path.join(globexFolder, 'x.db')}`,
    ]) {
      const probe = await t.call('POST', PROBE, { as: ACME, body: jdbc(url) });
      expect(probe.status).toBe(200);
      expect(probe.body.ok).toBe(false);
      expect(probe.body.error).toContain("inside the tenant's own folder");
      answers.push(probe.body.error.replace(url, 'URL'));
    }
    expect(new Set(answers).size).toBe(1);
    expect(existsSync(path.join(t.home, 'repository', 'database', 'other.db'))).toBe(false);
  });

  it('follows symbolic links out of the tenant folder', async () => {
    symlinkSync(globexFolder, path.join(acmeFolder, 'link-to-globex'));
    const probe = await t.call('POST', PROBE, {
      as: ACME,
      body: jdbc(`sqlite:${path.join(acmeFolder, 'link-to-globex', 'x.db')}`),
    });
    expect(probe.body.ok).toBe(false);
    expect(probe.body.error).toContain("inside the tenant's own folder");
  });

  it('probes a file inside the folder read-only: not created when missing, not switched to WAL when there', async () => {
    const missing = path.join(acmeFolder, 'stores', 'new.db');
    expect((await t.call('POST', PROBE, { as: ACME, body: jdbc(`sqlite:${missing}`) })).body).toEqual({
      ok: true,
    });
    expect(existsSync(path.dirname(missing))).toBe(false);

    const existing = path.join(acmeFolder, 'existing.db');
    const database = new SqliteDatabase(existing);
    database.exec('CREATE TABLE users (id INTEGER)');
    database.close();
    expect(journalModeByte(existing)).toBe(1);
    const probe = await t.call('POST', PROBE, { as: ACME, body: jdbc(`sqlite:${existing}`) });
    expect(probe.body.ok).toBe(false);
    expect(probe.body.error).toContain('does not look like a Tessera user store');
    expect(journalModeByte(existing)).toBe(1);
    expect(existsSync(`${existing}-wal`)).toBe(false);
    expect(existsSync(`${existing}-shm`)).toBe(false);
  });

  it('tells a tenant admin only that the connection failed; the super admin why', async () => {
    const body = jdbc('postgres://postgres:pw@127.0.0.1:1/nothing');
    // A refused port answers at once; the tenant admin's answer still waits for the timeout, so that its
    // time does not tell which ports are open.
    const asked = performance.now();
    const tenantAdmin = await t.call('POST', PROBE, { as: ACME, body });
    expect(performance.now() - asked).toBeGreaterThanOrEqual(PROBE_TIMEOUT_MS - 50);
    expect(tenantAdmin.body).toEqual({ ok: false, error: GENERIC_PROBE_ERROR });
    const superAdmin = await t.call('POST', PROBE, { as: SUPER, body });
    expect(superAdmin.body.ok).toBe(false);
    expect(superAdmin.body.error).not.toBe(GENERIC_PROBE_ERROR);
    expect(superAdmin.body.error).not.toContain(':pw@');

    const notADatabase = path.join(acmeFolder, 'notes.db');
    writeFileSync(notADatabase, 'plain text, not SQLite, long enough to have a header of sorts......');
    const garbage = await t.call('POST', PROBE, { as: ACME, body: jdbc(`sqlite:${notADatabase}`) });
    expect(garbage.body).toEqual({ ok: false, error: GENERIC_PROBE_ERROR });
  });

  it('lets the super admin probe any file', async () => {
    const probe = await t.call('POST', PROBE, {
      as: SUPER,
      body: jdbc('sqlite:repository/database/other.db'),
    });
    expect(probe.body).toEqual({ ok: true });
  });

  it('refuses a tenant admin a store outside its folder, writing nothing; inside, it is created', async () => {
    const outside = await t.call('POST', CREATE, {
      as: ACME,
      body: { ...jdbc('sqlite:repository/database/acme-partners.db'), readOnly: false },
    });
    expect(outside.status).toBe(403);
    expect(outside.body.message).toContain("inside the tenant's own folder");
    expect(existsSync(path.join(t.home, 'repository', 'database', 'acme-partners.db'))).toBe(false);
    expect(existsSync(path.join(acmeFolder, 'userstores', 'PARTNERS.toml'))).toBe(false);

    const own = await t.call('POST', CREATE, {
      as: ACME,
      body: { ...jdbc('sqlite:repository/database/tessera.db'), readOnly: false },
    });
    expect(own.status).toBe(400);
    expect(own.body.message).toContain('a database of its own');

    const inside = await t.call('POST', CREATE, {
      as: ACME,
      body: { ...jdbc(`sqlite:${path.join(acmeFolder, 'partners.db')}`), readOnly: false },
    });
    expect(inside.status).toBe(201);
    expect(existsSync(path.join(acmeFolder, 'partners.db'))).toBe(true);
  });

  it('a store whose database cannot be reached is refused to a tenant admin without the reason', async () => {
    const body = {
      ...jdbc('postgres://postgres:pw@127.0.0.1:1/nothing'),
      domain: 'FARAWAY',
      readOnly: false,
    };
    const tenantAdmin = await t.call('POST', CREATE, { as: ACME, body });
    expect(tenantAdmin.status).toBe(503);
    expect(tenantAdmin.body.message).toBe(GENERIC_PROBE_ERROR);
    const superAdmin = await t.call('POST', CREATE, { as: SUPER, body });
    expect(superAdmin.status).toBe(503);
    expect(superAdmin.body.message).toContain('127.0.0.1:1');
  });
});
