import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretsKey } from '../../src/home/secrets-key.js';
import { PendingSignIns } from '../../src/identity/pending-sign-in.js';
import { base32Decode } from '../../src/identity/totp/base32.js';
import { SecretBox } from '../../src/identity/totp/secret-box.js';
import { hotp, stepAt, TOTP_STEP_SECONDS } from '../../src/identity/totp/totp.js';
import { browse, csrfOf, type Jar } from '../helpers/app-sign-in.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant } from '../helpers/tenant-stores.js';
import { absolute, CookieJar, browse as oidcBrowse, startAuthorization } from '../identity/oidc/flow.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw-1'];
const PASSWORD = 'the-right-password';
const RETURN = '/t/acme.com/notes/';
const REDIRECT = 'http://127.0.0.1:9/cb';

/** Waits until the current 30 s step has `seconds` left, so that "now" does not move between two calls. */
async function roomInStep(seconds = 10): Promise<void> {
  const left = TOTP_STEP_SECONDS * 1000 - (Date.now() % (TOTP_STEP_SECONDS * 1000));
  if (left < seconds * 1000) await sleep(left + 50);
}

function pendingOf(html: string): string {
  const match = /name="pending" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no pending field in ${html.slice(0, 300)}`);
  return match[1];
}

/** The token with one character of its sealed data changed (a real change of bytes, not of padding). */
function tamper(token: string): string {
  const at = token.length - 10;
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

/** A code no step near now yields. */
function wrongCode(key: Buffer): string {
  const now = stepAt(Date.now());
  return ['000000', '999999', '123456'].find((code) =>
    [-2, -1, 0, 1, 2].every((d) => hotp(key, now + d) !== code),
  ) as string;
}

describe('the TOTP second factor on the sign-in pages (sqlite)', () => {
  let t: TestServer;
  let base: string;

  async function createUser(username: string): Promise<void> {
    const created = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username, password: PASSWORD, roles: [] },
    });
    expect(created.status).toBe(201);
  }

  /** Enrols `username@acme.com`; the key and recovery codes (the confirming code's step is now - 1). */
  async function enrol(username: string): Promise<{ key: Buffer; recoveryCodes: string[] }> {
    const as: [string, string] = [`${username}@acme.com`, PASSWORD];
    const begun = await t.call('POST', '/api/v1/me/totp', { as });
    expect(begun.status).toBe(201);
    const key = base32Decode(begun.body.secret);
    await roomInStep();
    const otp = hotp(key, stepAt(Date.now()) - 1);
    const confirmed = await t.call('POST', '/api/v1/me/totp/confirm', { as, body: { otp } });
    expect(confirmed.status).toBe(200);
    return { key, recoveryCodes: confirmed.body.recoveryCodes };
  }

  async function accountFailures(username: string): Promise<number> {
    const row = await t.server.context.database.db
      .selectFrom('login_failures')
      .select('failures')
      .where('kind', '=', 'account')
      .where('subject', 'like', `%/PRIMARY/${username}`)
      .executeTakeFirst();
    return row?.failures ?? 0;
  }

  /** The apps' page: the password posted in a fresh jar; the jar and the page answered. */
  async function passwordStep(username: string) {
    const jar: Jar = new Map();
    const form = await browse(base, jar, `/t/acme.com/.tessera/sign-in?return=${encodeURIComponent(RETURN)}`);
    expect(form.status).toBe(200);
    const answer = await browse(base, jar, '/t/acme.com/.tessera/sign-in', {
      form: { csrf: csrfOf(form.text), username, password: PASSWORD, return: RETURN },
    });
    return { jar, answer };
  }

  function codeStep(jar: Jar, pending: string, fields: Record<string, string>) {
    return browse(base, jar, '/t/acme.com/.tessera/sign-in/code', {
      form: { csrf: jar.get('tessera_signin_csrf') as string, pending, return: RETURN, ...fields },
    });
  }

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    base = t.server.url;
    await createTenant(t, 'acme.com', ACME[1]);
    const server = await t.call('PUT', '/api/v1/tenants/carbon.super/settings/lockout', {
      as: SUPER,
      body: { address: { maxFailures: 1000 } },
    });
    expect(server.status).toBe(200);
    const acme = await t.call('PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: SUPER,
      body: { account: { maxFailures: 4, windowSeconds: 900, lockSeconds: 60, maxLockSeconds: 3600 } },
    });
    expect(acme.status).toBe(200);
    for (const name of ['alice', 'bob', 'carol', 'dave']) await createUser(name);
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('apps: the password alone shows the code form; a wrong code is counted; the right one signs in once', async () => {
    const { key, recoveryCodes } = await enrol('alice');
    const { jar, answer } = await passwordStep('alice');
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Two-factor sign-in');
    expect(answer.text).toContain('action="/t/acme.com/.tessera/sign-in/code"');
    expect(answer.text).toContain('name="recovery"');
    expect(jar.has('tessera_app_session')).toBe(false);
    const pending = pendingOf(answer.text);
    // The token is sealed: the principal is not readable in it.
    expect(Buffer.from(pending, 'utf8').toString()).not.toContain('alice');

    const wrong = await codeStep(jar, pending, { otp: wrongCode(key) });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('The code is wrong');
    expect(pendingOf(wrong.text)).toBe(pending);
    expect(jar.has('tessera_app_session')).toBe(false);
    expect(await accountFailures('alice')).toBe(1);

    const forged = await codeStep(jar, tamper(pending), { otp: hotp(key, stepAt(Date.now())) });
    expect(forged.status).toBe(400);
    expect(forged.text).toContain('This sign-in has expired');
    expect(jar.has('tessera_app_session')).toBe(false);

    // Another browser (another CSRF cookie) cannot use this browser's token.
    const other = await passwordStep('alice');
    const stolen = await codeStep(other.jar, pending, { otp: hotp(key, stepAt(Date.now())) });
    expect(stolen.status).toBe(400);

    await roomInStep();
    const code = hotp(key, stepAt(Date.now()));
    const csrfBefore = jar.get('tessera_signin_csrf');
    const done = await codeStep(jar, pending, { otp: code });
    expect(done.status).toBe(303);
    expect(done.location).toBe(RETURN);
    expect(jar.get('tessera_app_session')).toBeTruthy();
    expect(jar.get('tessera_signin_csrf')).not.toBe(csrfBefore);
    expect(await accountFailures('alice')).toBe(0);

    // The token is useless once its sign-in completed (its CSRF cookie was replaced).
    const again = await codeStep(jar, pending, { otp: hotp(key, stepAt(Date.now()) + 1) });
    expect(again.status).toBe(400);

    // The same code, replayed in a new sign-in, is refused and counted.
    const replay = await codeStep(other.jar, pendingOf(other.answer.text), { otp: code });
    expect(replay.status).toBe(401);
    expect(other.jar.has('tessera_app_session')).toBe(false);
    expect(await accountFailures('alice')).toBe(1);

    // A recovery code works once.
    const recovered = await codeStep(other.jar, pendingOf(other.answer.text), {
      recovery: recoveryCodes[0] as string,
    });
    expect(recovered.status).toBe(303);
    expect(other.jar.get('tessera_app_session')).toBeTruthy();
    const third = await passwordStep('alice');
    const reused = await codeStep(third.jar, pendingOf(third.answer.text), {
      recovery: recoveryCodes[0] as string,
    });
    expect(reused.status).toBe(401);
    expect(third.jar.has('tessera_app_session')).toBe(false);
  }, 60_000);

  it('apps: wrong codes lock the account, shown as the 429 page', async () => {
    const { key } = await enrol('bob');
    const { jar, answer } = await passwordStep('bob');
    const pending = pendingOf(answer.text);
    for (let i = 0; i < 4; i++)
      expect((await codeStep(jar, pending, { otp: wrongCode(key) })).status).toBe(401);
    const locked = await codeStep(jar, pending, { otp: hotp(key, stepAt(Date.now())) });
    expect(locked.status).toBe(429);
    expect(locked.text).toContain('Too many failed sign-ins');
    expect(locked.headers.get('retry-after')).toBeTruthy();
    expect(jar.has('tessera_app_session')).toBe(false);
  }, 60_000);

  it('apps: the code step works in maintenance mode, as the password step does', async () => {
    const { key } = await enrol('dave');
    expect((await t.call('PUT', '/api/v1/maintenance', { as: SUPER, body: {} })).status).toBe(200);
    try {
      const { jar, answer } = await passwordStep('dave');
      expect(answer.status).toBe(200);
      await roomInStep();
      const done = await codeStep(jar, pendingOf(answer.text), { otp: hotp(key, stepAt(Date.now())) });
      expect(done.status).toBe(303);
      expect(jar.get('tessera_app_session')).toBeTruthy();
    } finally {
      expect((await t.call('DELETE', '/api/v1/maintenance', { as: SUPER })).status).toBe(200);
    }
  }, 60_000);

  it('a pending token expires after five minutes and opens only under its binding', () => {
    const box = new SecretBox(loadSecretsKey(t.server.context.layout));
    let now = Date.now();
    const pendingSignIns = new PendingSignIns(box, () => now);
    const principal = {
      tenantId: 2,
      tenantDomain: 'acme.com',
      store: 'PRIMARY',
      username: 'alice',
      qualifiedName: 'alice@acme.com',
      roles: [],
      isTenantAdmin: false,
      isSuperAdmin: false,
    };
    const token = pendingSignIns.seal({ principal, passwordExpired: false }, 'app-sign-in:2:abc');
    expect(pendingSignIns.open(token, 'app-sign-in:2:abc')).toEqual({ principal, passwordExpired: false });
    expect(pendingSignIns.open(token, 'app-sign-in:3:abc')).toBeUndefined();
    expect(pendingSignIns.open(token, 'oidc:2:abc')).toBeUndefined();
    // The server's own instance (same key) opens it too: any node of the cluster does.
    expect(t.server.context.pendingSignIns.open(token, 'app-sign-in:2:abc')?.principal).toEqual(principal);
    now += 5 * 60 * 1000 + 1;
    expect(pendingSignIns.open(token, 'app-sign-in:2:abc')).toBeUndefined();
  });

  it('OpenID Connect: the password alone issues no code; a wrong code is counted; the right one finishes', async () => {
    const { key } = await enrol('carol');
    const created = await t.call('POST', '/api/v1/tenants/acme.com/oidc/clients', {
      as: ACME,
      body: { name: 'Acme SPA', type: 'public', redirectUris: [REDIRECT], firstParty: true },
    });
    expect(created.status).toBe(201);
    const config = await client.discovery(
      new URL(`${base}/t/acme.com/oidc`),
      created.body.clientId,
      undefined,
      undefined,
      { execute: [client.allowInsecureRequests] },
    );
    const start = await startAuthorization(config, REDIRECT, 'openid');
    const jar = new CookieJar();
    let url = start.url.href;
    let page = await oidcBrowse(jar, url);
    while (page.location) {
      url = absolute(page.location, url);
      page = await oidcBrowse(jar, url);
    }
    const login = absolute(/action="([^"]+\/login)"/.exec(page.text)?.[1] as string, url);
    const password = await oidcBrowse(jar, login, {
      csrf: csrfOf(page.text),
      username: 'carol',
      password: PASSWORD,
    });
    expect(password.status).toBe(200);
    expect(password.location).toBeNull();
    expect(password.text).toContain('Two-factor sign-in');
    const codeUrl = login.replace(/\/login$/, '/code');
    expect(password.text).toContain(`action="${new URL(codeUrl).pathname}"`);
    const csrf = csrfOf(password.text);
    const pending = pendingOf(password.text);

    const wrong = await oidcBrowse(jar, codeUrl, { csrf, pending, otp: wrongCode(key) });
    expect(wrong.status).toBe(401);
    expect(wrong.location).toBeNull();
    expect(await accountFailures('carol')).toBe(1);
    const forged = await oidcBrowse(jar, codeUrl, { csrf, pending: tamper(pending), otp: '000000' });
    expect(forged.status).toBe(400);
    expect(forged.location).toBeNull();

    await roomInStep();
    const done = await oidcBrowse(jar, codeUrl, { csrf, pending, otp: hotp(key, stepAt(Date.now())) });
    expect(done.status).toBe(303);
    let to = absolute(done.location as string, codeUrl);
    for (let i = 0; i < 6 && !to.startsWith(REDIRECT); i++) {
      const next = await oidcBrowse(jar, to);
      to = absolute(next.location as string, to);
    }
    expect(to.startsWith(REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(to), {
      pkceCodeVerifier: start.verifier,
      expectedState: start.state,
    });
    expect(tokens.claims()?.sub).toBe('carol');
    expect(await accountFailures('carol')).toBe(0);

    // Once the interaction finished, its pending token opens nothing.
    const replay = await oidcBrowse(jar, codeUrl, { csrf, pending, otp: hotp(key, stepAt(Date.now()) + 1) });
    expect(replay.location).toBeNull();
    expect(replay.status).toBe(400);
  }, 60_000);
});
