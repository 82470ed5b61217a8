import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/start.js';
import { browse, csrfOf, ECHO_APP_FILES, type Jar, uploadApp } from '../helpers/app-sign-in.js';
import { ensureBuilt, waitFor } from '../helpers/cluster.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { ADMIN_PASSWORD, callJson, startServerOn, writeConfig } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME_ADMIN: [string, string] = ['admin@acme.com', 'acme-admin-pw-1'];
const ALICE_PASSWORD = 'alice-Secret-pw-7';

/** The answer to an upgrade request: the app's 101 (and what it saw), or Tessera's refusal. */
function upgrade(url: string, cookie: string): Promise<{ status: number; seenUser?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      headers: { connection: 'Upgrade', upgrade: 'echo', cookie },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, seenUser: String(response.headers['x-seen-user']) });
    });
    request.on('response', (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    request.on('error', reject);
    request.end();
  });
}

/**
 * Two server nodes in this process, each with a home of its own, on one PostgreSQL database: a session made
 * through one is the other's too, and a sign-out on one ends it on both (within the node cache's 5 s).
 */
describe('app sessions across two nodes on one PostgreSQL database, with a node app', () => {
  let scratch: ScratchDatabase;
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    ensureBuilt();
    scratch = await scratchDatabase('postgres', 'signin-nodes');
    const homes = [1, 2].map((n) => path.join(scratch.home, `node${n}`));
    for (const home of homes) writeConfig(home, scratch.url);
    a = await startServerOn(homes[0] as string, 'warn');
    b = await startServerOn(homes[1] as string, 'warn');
    const created = await callJson(a.url, 'POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME_ADMIN[1] },
    });
    expect(created.status).toBe(201);
    const alice = await callJson(a.url, 'POST', '/api/v1/tenants/acme.com/users', {
      as: ACME_ADMIN,
      body: { username: 'alice', password: ALICE_PASSWORD, roles: [] },
    });
    expect(alice.status).toBe(201);
    expect(
      (
        await callJson(a.url, 'POST', '/api/v1/tenants/acme.com/roles', {
          as: ACME_ADMIN,
          body: { name: 'editors', users: ['alice'] },
        })
      ).status,
    ).toBe(201);
    await uploadApp(a.url, 'acme.com', 'echo', ACME_ADMIN, ECHO_APP_FILES);
    // B takes the tenant and the app from the database (its follower and mirror, every 5 s without Redis).
    await waitFor(
      'B to serve the app',
      async () => {
        const answer = await fetch(`${b.url}/t/acme.com/echo/headers`, {
          headers: { authorization: `Basic ${Buffer.from(`alice:${ALICE_PASSWORD}`).toString('base64')}` },
        });
        return answer.status === 200 ? true : undefined;
      },
      30_000,
      250,
    );
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await scratch?.drop();
  });

  it('signs in on node A and is signed in on node B; the app gets the user, never the cookie, and cannot set it', async () => {
    const jar: Jar = new Map();
    const redirected = await browse(b.url, jar, '/t/acme.com/echo/');
    expect(redirected.status).toBe(303);
    const page = await browse(a.url, jar, redirected.location as string);
    const done = await browse(a.url, jar, '/t/acme.com/.tessera/sign-in', {
      form: {
        csrf: csrfOf(page.text),
        username: 'alice',
        password: ALICE_PASSWORD,
        return: '/t/acme.com/echo/',
      },
    });
    expect(done.location).toBe('/t/acme.com/echo/');

    const shown = await browse(b.url, jar, '/t/acme.com/echo/');
    expect(shown.status).toBe(200);
    expect(shown.text).toContain('<p id="user">alice</p>');
    const headers = await fetch(`${b.url}/t/acme.com/echo/headers`, {
      headers: { cookie: [...jar].map(([n, v]) => `${n}=${v}`).join('; ') },
    });
    expect(headers.status).toBe(200);
    const seen = (await headers.json()) as Record<string, string>;
    expect(seen).toMatchObject({
      'x-tessera-user': 'alice',
      'x-tessera-store': 'PRIMARY',
      'x-tessera-roles': 'editors',
      'x-tessera-tenant': 'acme.com',
      // The app's own cookie, set by its first answer, comes back to it; Tessera's never does.
      cookie: 'app_pref=dark',
    });
    expect(JSON.stringify(seen)).not.toContain(ALICE_PASSWORD);
    expect(JSON.stringify(seen)).not.toContain(jar.get('tessera_app_session'));
    // The app's own cookie goes to the browser; its forged session cookie does not.
    expect(headers.headers.getSetCookie()).toEqual(['app_pref=dark; Path=/']);

    // A WebSocket (any upgrade) takes the cookie too, on either node; without it, 401.
    const tunnel = await upgrade(
      `${b.url}/t/acme.com/echo/`,
      `tessera_app_session=${jar.get('tessera_app_session')}`,
    );
    expect(tunnel).toEqual({ status: 101, seenUser: 'alice' });
    expect((await upgrade(`${a.url}/t/acme.com/echo/`, 'tessera_app_session=unknown')).status).toBe(401);
  });

  it('signs out on node A and the cookie stops working on node B within the node cache period', async () => {
    const jar: Jar = new Map();
    const page = await browse(a.url, jar, '/t/acme.com/.tessera/sign-in');
    await browse(a.url, jar, '/t/acme.com/.tessera/sign-in', {
      form: { csrf: csrfOf(page.text), username: 'alice', password: ALICE_PASSWORD },
    });
    const token = jar.get('tessera_app_session') as string;
    // B reads (and caches) the session.
    expect((await browse(b.url, new Map(jar), '/t/acme.com/echo/')).status).toBe(200);
    const confirm = await browse(a.url, jar, '/t/acme.com/.tessera/sign-out');
    const out = await browse(a.url, jar, '/t/acme.com/.tessera/sign-out', {
      form: { csrf: csrfOf(confirm.text) },
    });
    expect(out.status).toBe(303);
    // On A at once; on B once its cached read is older than 5 s.
    expect((await browse(a.url, new Map([['tessera_app_session', token]]), '/t/acme.com/echo/')).status).toBe(
      303,
    );
    const started = Date.now();
    await waitFor(
      'B to refuse the ended session',
      async () => {
        const answer = await browse(b.url, new Map([['tessera_app_session', token]]), '/t/acme.com/echo/');
        return answer.status === 303 ? true : undefined;
      },
      10_000,
      250,
    );
    // B's read was cached before the sign-out, so the 5 s run out before `started` plus 5 s; the rest is
    // the poll's period and a busy machine's request time.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
