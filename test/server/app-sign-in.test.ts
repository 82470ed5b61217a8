import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseKind } from '../../src/db/url.js';
import { browse, cookieHeader, csrfOf, HTML, type Jar } from '../helpers/app-sign-in.js';
import { ADMIN_PASSWORD, basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { buildZip } from '../webapps/helpers.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME_ADMIN: [string, string] = ['admin@acme.com', 'acme-admin-pw-1'];
const BETA_ADMIN: [string, string] = ['admin@beta.org', 'beta-admin-pw-1'];
const ALICE_PASSWORD = 'alice-Secret-pw-7';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe.each<DatabaseKind>(['sqlite', 'postgres'])('signing in to apps on %s', (kind) => {
  let t: TestServer;
  let base: string;

  /**
   * Signs `name` in to acme.com through the form, in a fresh jar unless given one (whose session cookie,
   * if any, goes along with the POST); returns the jar.
   */
  async function signIn(name = 'alice', password = ALICE_PASSWORD, jar: Jar = new Map()): Promise<Jar> {
    const signedOut = new Map(jar);
    signedOut.delete('tessera_app_session');
    const page = await browse(
      base,
      signedOut,
      '/t/acme.com/.tessera/sign-in?return=%2Ft%2Facme.com%2Fnotes%2F',
    );
    expect(page.status).toBe(200);
    jar.set('tessera_signin_csrf', signedOut.get('tessera_signin_csrf') as string);
    const done = await browse(base, jar, '/t/acme.com/.tessera/sign-in', {
      form: { csrf: csrfOf(page.text), username: name, password, return: '/t/acme.com/notes/' },
    });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/t/acme.com/notes/');
    return jar;
  }

  async function upload(tenant: string, name: string, as: [string, string], body: string): Promise<void> {
    const zip = await buildZip({ 'index.html': body, 'tessera-app.toml': 'login = true\n' });
    const response = await fetch(`${base}/api/v1/tenants/${tenant}/webapps?name=${name}`, {
      method: 'POST',
      headers: { authorization: basicAuthorization(as), 'content-type': 'application/zip' },
      body: zip,
    });
    expect(response.status).toBe(201);
  }

  async function addUser(tenant: string, as: [string, string], username: string, password: string) {
    const created = await t.call('POST', `/api/v1/tenants/${tenant}/users`, {
      as,
      body: { username, password, roles: [] },
    });
    expect(created.status).toBe(201);
  }

  beforeAll(async () => {
    t = await startTestServer(kind);
    base = t.server.url;
    for (const [domain, admin] of [
      ['acme.com', ACME_ADMIN],
      ['beta.org', BETA_ADMIN],
    ] as const) {
      const created = await t.call('POST', '/api/v1/tenants', {
        as: SUPER,
        body: { domain, adminPassword: admin[1] },
      });
      expect(created.status).toBe(201);
    }
    await addUser('acme.com', ACME_ADMIN, 'alice', ALICE_PASSWORD);
    await addUser('acme.com', ACME_ADMIN, 'bob', 'bob-Secret-pw-8');
    await addUser('acme.com', ACME_ADMIN, 'carol', 'carol-Secret-pw-9');
    await addUser('acme.com', ACME_ADMIN, 'dave', 'dave-Secret-pw-11');
    await addUser('beta.org', BETA_ADMIN, 'alice', ALICE_PASSWORD);
    await upload('acme.com', 'notes', ACME_ADMIN, '<h1>Notes</h1>');
    await upload('acme.com', 'wiki', ACME_ADMIN, '<h1>Wiki</h1>');
    await upload('beta.org', 'board', BETA_ADMIN, '<h1>Board</h1>');
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  });

  it('sends a browser to the sign-in page, signs it in with a cookie scoped to the tenant, and opens every app of the tenant', async () => {
    const jar: Jar = new Map();
    const first = await browse(base, jar, '/t/acme.com/notes/?page=2');
    expect(first.status).toBe(303);
    expect(first.location).toBe('/t/acme.com/.tessera/sign-in?return=%2Ft%2Facme.com%2Fnotes%2F%3Fpage%3D2');

    const page = await browse(base, jar, first.location as string);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.text).toContain('acme.com');
    expect(page.text).toContain('name="return" value="/t/acme.com/notes/?page=2"');
    const csrfCookie = page.headers.getSetCookie().find((c) => c.startsWith('tessera_signin_csrf='));
    expect(csrfCookie).toMatch(/Path=\/t\/acme\.com\/\.tessera\/; HttpOnly; SameSite=Strict$/);

    const done = await browse(base, jar, '/t/acme.com/.tessera/sign-in', {
      form: {
        csrf: csrfOf(page.text),
        username: 'alice',
        password: ALICE_PASSWORD,
        return: '/t/acme.com/notes/?page=2',
      },
    });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/t/acme.com/notes/?page=2');
    const sessionCookie = done.headers.getSetCookie().find((c) => c.startsWith('tessera_app_session='));
    // Plain HTTP here, so not Secure; no Max-Age: it ends with the browser, or earlier on the server.
    expect(sessionCookie).toMatch(
      /^tessera_app_session=[A-Za-z0-9_-]{43}; Path=\/t\/acme\.com\/; HttpOnly; SameSite=Lax$/,
    );

    const notes = await browse(base, jar, '/t/acme.com/notes/');
    expect(notes.status).toBe(200);
    expect(notes.text).toBe('<h1>Notes</h1>');
    expect(notes.headers.get('cache-control')).toBe('private');
    const wiki = await browse(base, jar, '/t/acme.com/wiki/');
    expect(wiki.status).toBe(200);
    expect(wiki.text).toBe('<h1>Wiki</h1>');

    // Only the token's hash is stored, with who signed in and from where.
    const token = jar.get('tessera_app_session') as string;
    const rows = await t.server.context.database.db.selectFrom('app_sessions').selectAll().execute();
    const row = rows.find((r) => r.token_hash === sha256(token));
    expect(row).toMatchObject({ store: 'PRIMARY', username: 'alice', address: '127.0.0.1' });
    expect(rows.some((r) => JSON.stringify(r).includes(token))).toBe(false);

    const audit = await t.call('GET', '/api/v1/tenants/acme.com/audit?action=login.&actor=alice', {
      as: ACME_ADMIN,
    });
    expect(audit.status).toBe(200);
    expect(audit.body.entries[0]).toMatchObject({
      actor: 'alice',
      action: 'login.success',
      target: 'app-sign-in',
    });
  });

  it('gives API clients 401 with WWW-Authenticate, and still takes HTTP Basic', async () => {
    const plain = await fetch(`${base}/t/acme.com/notes/`, { redirect: 'manual' });
    expect(plain.status).toBe(401);
    expect(plain.headers.get('www-authenticate')).toBe('Basic realm="notes"');
    const basic = await fetch(`${base}/t/acme.com/notes/`, {
      headers: { accept: HTML, authorization: basicAuthorization(['alice', ALICE_PASSWORD]) },
    });
    expect(basic.status).toBe(200);
    // A browser with wrong Basic credentials is challenged again, not sent to the form.
    const wrong = await fetch(`${base}/t/acme.com/notes/`, {
      headers: { accept: HTML, authorization: basicAuthorization(['alice', 'nope']) },
      redirect: 'manual',
    });
    expect(wrong.status).toBe(401);
  });

  it('gives a new token at each sign-in (no fixation), ending the one held before; a token brought in is never adopted', async () => {
    const planted = 'A'.repeat(43);
    const jar: Jar = new Map([['tessera_app_session', planted]]);
    await signIn('alice', ALICE_PASSWORD, jar);
    const first = jar.get('tessera_app_session') as string;
    expect(first).not.toBe(planted);
    await signIn('alice', ALICE_PASSWORD, jar);
    const second = jar.get('tessera_app_session') as string;
    expect(second).not.toBe(first);
    // The session the browser held before ends with the new sign-in: no cookie names it any more.
    expect((await browse(base, new Map([['tessera_app_session', first]]), '/t/acme.com/notes/')).status).toBe(
      303,
    );
    expect(
      (await browse(base, new Map([['tessera_app_session', second]]), '/t/acme.com/notes/')).status,
    ).toBe(200);
    expect(
      (await browse(base, new Map([['tessera_app_session', planted]]), '/t/acme.com/notes/')).status,
    ).toBe(303);
  });

  it("never takes one tenant's cookie for another's, and treats a tampered or unknown token as signed out", async () => {
    const jar = await signIn();
    const token = jar.get('tessera_app_session') as string;
    // Sent by hand to beta.org's app, where alice also exists with the same password.
    const other = await browse(base, new Map([['tessera_app_session', token]]), '/t/beta.org/board/');
    expect(other.status).toBe(303);
    expect(other.location).toMatch(/^\/t\/beta\.org\/\.tessera\/sign-in\?return=/);
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [tampered, 'x', '', '%00', 'a'.repeat(5000)]) {
      const answer = await browse(base, new Map([['tessera_app_session', bad]]), '/t/acme.com/notes/');
      expect(answer.status, bad).toBe(303);
    }
    const api = await fetch(`${base}/t/acme.com/notes/`, {
      headers: { cookie: `tessera_app_session=${tampered}` },
    });
    expect(api.status).toBe(401);
  });

  it('refuses sessions past their absolute or idle expiry', async () => {
    const db = t.server.context.database.db;
    const past = await signIn();
    await db
      .updateTable('app_sessions')
      .set({ expires_at: Date.now() - 1 })
      .where('token_hash', '=', sha256(past.get('tessera_app_session') as string))
      .execute();
    expect((await browse(base, past, '/t/acme.com/notes/')).status).toBe(303);
    const idle = await signIn();
    await db
      .updateTable('app_sessions')
      .set({ last_used_at: Date.now() - 31 * 60 * 1000 })
      .where('token_hash', '=', sha256(idle.get('tessera_app_session') as string))
      .execute();
    expect((await browse(base, idle, '/t/acme.com/notes/')).status).toBe(303);
    // Both rows went with their refusal.
    const left = await db.selectFrom('app_sessions').select('token_hash').execute();
    expect(left.map((r) => r.token_hash)).not.toContain(sha256(idle.get('tessera_app_session') as string));
  });

  it('signs out on a confirmed POST only, ends the session on the server, and a replayed cookie fails', async () => {
    const jar = await signIn();
    const token = jar.get('tessera_app_session') as string;
    const confirm = await browse(base, jar, '/t/acme.com/.tessera/sign-out');
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Sign out alice from every app of acme.com?');
    // A POST from elsewhere (no token, a foreign Origin) is only asked to confirm.
    const forged = await browse(base, jar, '/t/acme.com/.tessera/sign-out', {
      form: { csrf: csrfOf(confirm.text) },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.status).toBe(403);
    expect((await browse(base, jar, '/t/acme.com/notes/')).status).toBe(200);

    const out = await browse(base, jar, '/t/acme.com/.tessera/sign-out', {
      form: { csrf: csrfOf(confirm.text), return: '/t/acme.com/wiki/' },
    });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/t/acme.com/.tessera/sign-in?signed-out&return=%2Ft%2Facme.com%2Fwiki%2F');
    expect(out.headers.getSetCookie()).toContain(
      'tessera_app_session=; Path=/t/acme.com/; HttpOnly; SameSite=Lax; Max-Age=0',
    );
    expect(jar.has('tessera_app_session')).toBe(false);
    const replayed = await browse(base, new Map([['tessera_app_session', token]]), '/t/acme.com/wiki/');
    expect(replayed.status).toBe(303);
    const row = await t.server.context.database.db
      .selectFrom('app_sessions')
      .select('id')
      .where('token_hash', '=', sha256(token))
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });

  it('refuses a sign-in form without its CSRF token or from another origin', async () => {
    const jar: Jar = new Map();
    const page = await browse(base, jar, '/t/acme.com/.tessera/sign-in');
    const form = { csrf: csrfOf(page.text), username: 'alice', password: ALICE_PASSWORD };
    const noCookie = await browse(base, new Map(), '/t/acme.com/.tessera/sign-in', { form });
    expect(noCookie.status).toBe(403);
    expect(noCookie.headers.getSetCookie().some((c) => c.startsWith('tessera_app_session='))).toBe(false);
    const wrongToken = await browse(base, new Map(jar), '/t/acme.com/.tessera/sign-in', {
      form: { ...form, csrf: 'B'.repeat(32) },
    });
    expect(wrongToken.status).toBe(403);
    const crossSite = await browse(base, new Map(jar), '/t/acme.com/.tessera/sign-in', {
      form,
      headers: { origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);
  });

  it("redirects only to paths of the same tenant's apps after signing in", async () => {
    const jar: Jar = new Map();
    const page = await browse(base, jar, '/t/acme.com/.tessera/sign-in');
    const csrf = csrfOf(page.text);
    for (const target of [
      'https://evil.example/',
      '//evil.example/',
      '/\\evil.example/',
      '/t/beta.org/board/',
      '/t/acme.com/../beta.org/board/',
      '/t/acme.com/%2e%2e/beta.org/board/',
      '/api/v1/tenants',
      '/t/acme.com/.tessera/sign-out',
    ]) {
      const done = await browse(base, jar, '/t/acme.com/.tessera/sign-in', {
        form: { csrf, username: 'bob', password: 'bob-Secret-pw-8', return: target },
      });
      expect(done.status, target).toBe(303);
      expect(done.location, target).toBe('/t/acme.com/.tessera/sign-in');
    }
    // Signed in already: the page says so, and a valid return goes straight on.
    const signedIn = await browse(base, jar, '/t/acme.com/.tessera/sign-in');
    expect(signedIn.text).toContain('You are signed in as bob.');
    const onward = await browse(base, jar, '/t/acme.com/.tessera/sign-in?return=%2Ft%2Facme.com%2Fwiki%2F');
    expect(onward.location).toBe('/t/acme.com/wiki/');
  });

  it('shows a wrong password on the form, escapes what it echoes, and answers a locked account 429 with a readable wait', async () => {
    const set = await t.call('PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: ACME_ADMIN,
      body: { account: { maxFailures: 2, windowSeconds: 600, lockSeconds: 300, maxLockSeconds: 600 } },
    });
    expect(set.status).toBe(200);
    const jar: Jar = new Map();
    const csrf = csrfOf((await browse(base, jar, '/t/acme.com/.tessera/sign-in')).text);
    const wrong = await browse(base, jar, '/t/acme.com/.tessera/sign-in', {
      form: { csrf, username: 'carol"><script>x</script>', password: 'wrong' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBeNull();
    expect(wrong.text).toContain('The user name or password is wrong.');
    expect(wrong.text).toContain('value="carol&#34;&#62;&#60;script&#62;x&#60;/script&#62;"');
    expect(wrong.text).not.toContain('<script>');
    for (let i = 0; i < 2; i++) {
      await browse(base, jar, '/t/acme.com/.tessera/sign-in', {
        form: { csrf, username: 'carol', password: 'wrong' },
      });
    }
    const locked = await browse(base, jar, '/t/acme.com/.tessera/sign-in', {
      form: { csrf, username: 'carol', password: 'carol-Secret-pw-9' },
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(250);
    expect(locked.text).toMatch(/Too many failed sign-ins\. Try again in 5 minutes\./);
    expect(locked.headers.getSetCookie().some((c) => c.startsWith('tessera_app_session='))).toBe(false);
  });

  it('lists and ends sessions through the admin API, tenant-scoped; deleting a user or changing a password ends theirs', async () => {
    const alice = await signIn();
    const listed = await t.call('GET', '/api/v1/tenants/acme.com/sessions?user=alice', { as: ACME_ADMIN });
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.length).toBeGreaterThan(0);
    expect(listed.body.sessions[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      user: 'alice',
      store: 'PRIMARY',
      createdAt: expect.any(String),
      lastUsedAt: expect.any(String),
      expiresAt: expect.any(String),
      address: '127.0.0.1',
      userAgent: expect.any(String),
    });
    expect(JSON.stringify(listed.body)).not.toContain(alice.get('tessera_app_session'));
    const newest = listed.body.sessions[0].id as string;
    // Another tenant's admin does not see acme.com's sessions.
    expect((await t.call('GET', '/api/v1/tenants/acme.com/sessions', { as: BETA_ADMIN })).status).toBe(404);
    expect(
      (await t.call('DELETE', `/api/v1/tenants/beta.org/sessions/${newest}`, { as: BETA_ADMIN })).status,
    ).toBe(404);
    expect((await browse(base, alice, '/t/acme.com/notes/')).status).toBe(200);
    expect(
      (await t.call('DELETE', `/api/v1/tenants/acme.com/sessions/${newest}`, { as: ACME_ADMIN })).status,
    ).toBe(204);
    expect((await browse(base, alice, '/t/acme.com/notes/')).status).toBe(303);

    const again = await signIn();
    const ended = await t.call('DELETE', '/api/v1/tenants/acme.com/users/alice/sessions', { as: ACME_ADMIN });
    expect(ended.status).toBe(200);
    expect(ended.body.ended).toBeGreaterThan(0);
    expect((await browse(base, again, '/t/acme.com/notes/')).status).toBe(303);

    const beforeReset = await signIn();
    expect(
      (
        await t.call('PUT', '/api/v1/tenants/acme.com/users/alice/password', {
          as: ACME_ADMIN,
          body: { password: 'alice-Newer-pw-10' },
        })
      ).status,
    ).toBe(204);
    expect((await browse(base, beforeReset, '/t/acme.com/notes/')).status).toBe(303);

    const bob = await signIn('bob', 'bob-Secret-pw-8');
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/users/bob', { as: ACME_ADMIN })).status).toBe(
      204,
    );
    expect((await browse(base, bob, '/t/acme.com/notes/')).status).toBe(303);
    const bobs = await t.call('GET', '/api/v1/tenants/acme.com/sessions?user=bob', { as: ACME_ADMIN });
    expect(bobs.body.sessions).toEqual([]);
  });

  it("keeps the super tenant's sign-in at /.tessera/ with a cookie for /, which no tenant takes", async () => {
    const jar: Jar = new Map();
    const page = await browse(base, jar, '/.tessera/sign-in?return=%2Fapi%2Fv1%2Ftenants');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('name="return"');
    const done = await browse(base, jar, '/.tessera/sign-in', {
      form: {
        csrf: csrfOf(page.text),
        username: 'admin',
        password: ADMIN_PASSWORD,
        return: '/api/v1/tenants',
      },
    });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/.tessera/sign-in');
    expect(done.headers.getSetCookie().find((c) => c.startsWith('tessera_app_session='))).toMatch(
      /; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    // The super tenant's session means nothing to acme.com, though the browser sends it there.
    expect((await browse(base, jar, '/t/acme.com/notes/')).status).toBe(303);
    // Nor does the admin API take it.
    const api = await fetch(`${base}/api/v1/tenants`, { headers: { cookie: cookieHeader(jar) } });
    expect(api.status).toBe(401);
    // An unknown tenant has no sign-in page.
    expect((await browse(base, new Map(), '/t/nowhere.example/.tessera/sign-in')).status).toBe(404);
  });

  it('signs in while maintenance mode is on, and takes no field that is not a string', async () => {
    expect((await t.call('PUT', '/api/v1/maintenance', { as: SUPER, body: {} })).status).toBe(200);
    try {
      await signIn('dave', 'dave-Secret-pw-11');
    } finally {
      expect((await t.call('DELETE', '/api/v1/maintenance', { as: SUPER })).status).toBe(200);
    }
    const jar: Jar = new Map();
    const csrf = csrfOf((await browse(base, jar, '/t/acme.com/.tessera/sign-in')).text);
    const json = await fetch(`${base}/t/acme.com/.tessera/sign-in`, {
      method: 'POST',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/json' },
      body: JSON.stringify({ csrf, username: ['dave'], password: 42 }),
    });
    expect(json.status).toBe(400);
    expect(await json.text()).toContain('Enter your user name and password.');
  });

  it('never writes a password to the log', async () => {
    await signIn('dave', 'dave-Secret-pw-11');
    const log = readFileSync(path.join(t.home, 'logs', 'tessera.log'), 'utf8');
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(ALICE_PASSWORD);
    expect(log).not.toContain('dave-Secret-pw-11');
    expect(log).not.toContain('carol-Secret-pw-9');
  });
});
