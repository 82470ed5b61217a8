import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../src/db/connection.js';
import {
  buildFixture,
  DEFAULT_FIXTURE_DATABASE_URL,
  storesDatabaseUrl,
} from '../../src/releases/fixtures/build.js';
import { FIXTURE_RELEASES } from '../../src/releases/fixtures/generators.js';
import { type RunningServer, startServer } from '../../src/server/start.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { fixtureAtCurrentRelease } from '../helpers/fixtures.js';
import { basicAuthorization } from '../helpers/server.js';

describe.each(DATABASE_KINDS)('the server on release fixtures, %s', (kind) => {
  let scratch: ScratchDatabase;
  let server: RunningServer | undefined;
  let storesUrl: string | undefined;
  /** The database URL the last fixture's config names. */
  let summaryUrl = '';

  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (storesUrl && kind !== 'sqlite') await dropDatabase(storesUrl, scratch.home);
    await scratch?.drop();
  });

  async function fixture(release: string): Promise<string> {
    scratch = await scratchDatabase(kind, 'onfixture');
    const home = path.join(scratch.home, 'home');
    const url = kind === 'sqlite' ? undefined : scratch.url;
    const summary = await buildFixture({
      release,
      home,
      databaseUrl: url,
      tenants: 4,
      users: 12,
      password: 'fixture-pw',
    });
    storesUrl = storesDatabaseUrl(summary.databaseUrl, home);
    summaryUrl = url ?? DEFAULT_FIXTURE_DATABASE_URL;
    return home;
  }

  async function upgradedFixture(release: string): Promise<string> {
    const home = await fixture(release);
    await fixtureAtCurrentRelease(home, summaryUrl);
    return home;
  }

  it('serves an upgraded 2.0.1 fixture: its tenants, both store kinds, its webapps with and without login', async () => {
    const home = await upgradedFixture('2.0.1');
    server = await startServer({ home, port: 0, host: '127.0.0.1', stdoutLogs: false, logLevel: 'warn' });
    const get = (route: string, auth?: string) =>
      fetch(`${server?.url}${route}`, { headers: auth ? { authorization: auth } : {} });

    const tenants = (await (
      await get('/api/v1/tenants', basicAuthorization(['admin', 'fixture-pw']))
    ).json()) as {
      tenants: { domain: string; active: boolean }[];
    };
    expect(tenants.tenants).toHaveLength(5);
    const first = tenants.tenants[1]?.domain as string;

    const partners = (await (
      await get(
        `/api/v1/tenants/${first}/users?store=PARTNERS`,
        basicAuthorization([`admin@${first}`, 'fixture-pw']),
      )
    ).json()) as {
      users: { username: string }[];
    };
    expect(partners.users.length).toBe(5);
    const partner = partners.users[0]?.username as string;
    expect(partner).toMatch(/^PARTNERS\//);
    const login = await fetch(`${server.url}/api/v1/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `${partner}@${first}`, password: 'fixture-pw' }),
    });
    expect(login.status).toBe(200);

    expect(await (await get('/hello/')).text()).toContain('Hello from Tessera');
    expect((await get(`/t/${first}/portal/`)).status).toBe(401);
    const portal = await get(`/t/${first}/portal/`, basicAuthorization([partner, 'fixture-pw']));
    expect(portal.status).toBe(200);
    expect(await portal.text()).toContain(`${first} portal`);
    expect((await get(`/t/${first}/portal/`, basicAuthorization([partner, 'wrong-password']))).status).toBe(
      401,
    );
    expect((await get(`/t/${first}/docs/`)).status).toBe(200);
  });

  it.each(FIXTURE_RELEASES)('refuses to start on a %s fixture and says to upgrade', async (release) => {
    const home = await fixture(release);
    await expect(startServer({ home, port: 0, stdoutLogs: false })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      hint: expect.stringContaining('tessera upgrade'),
    });
  });
});
