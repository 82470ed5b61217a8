import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecondFactorRequired } from '../../src/identity/authenticator.js';
import { SecondFactor } from '../../src/identity/second-factor.js';
import { base32Decode } from '../../src/identity/totp/base32.js';
import { SecretBox } from '../../src/identity/totp/secret-box.js';
import { hotp, stepAt, TOTP_STEP_SECONDS } from '../../src/identity/totp/totp.js';
import { TotpStore } from '../../src/identity/totp/totp-store.js';
import {
  ADMIN_PASSWORD,
  basicAuthorization,
  type Reply,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw-1'];
const PASSWORD = 'the-right-password';

/** An enrolled user: their key (as the phone holds it) and the recovery codes shown once. */
interface Enrolled {
  key: Buffer;
  recoveryCodes: string[];
  /** The step of the code that confirmed enrolment (one before the current one: a phone a little behind). */
  step: number;
}

/**
 * Waits, if need be, until the current 30 s step has at least `seconds` left: a test that uses the codes of
 * the steps around "now" must not see the server's step move between two calls.
 */
async function roomInStep(seconds = 8): Promise<void> {
  const left = TOTP_STEP_SECONDS * 1000 - (Date.now() % (TOTP_STEP_SECONDS * 1000));
  if (left < seconds * 1000) await sleep(left + 50);
}

describe.each(['sqlite', 'postgres'] as const)('TOTP second factor on %s', (kind) => {
  let t: TestServer;

  /** A JSON call with a Bearer token (a console session). */
  async function bearer(method: string, route: string, token: string, body?: unknown): Promise<Reply> {
    const response = await fetch(`${t.server.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  }

  const login = (username: string, extra: Record<string, string> = {}) =>
    t.call('POST', '/api/v1/sessions', { body: { username, password: PASSWORD, ...extra } });
  const authenticate = (username: string, extra: Record<string, string> = {}) =>
    t.call('POST', '/api/v1/authenticate', { body: { username, password: PASSWORD, ...extra } });

  async function createUser(username: string, roles: string[] = []): Promise<void> {
    const created = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username, password: PASSWORD, roles },
    });
    expect(created.status, username).toBe(201);
  }

  /** Enrols `username@acme.com` over HTTP Basic (allowed until the authenticator is active). */
  async function enrol(username: string): Promise<Enrolled> {
    const as: [string, string] = [`${username}@acme.com`, PASSWORD];
    const begun = await t.call('POST', '/api/v1/me/totp', { as });
    expect(begun.status).toBe(201);
    const key = base32Decode(begun.body.secret);
    expect(key).toHaveLength(20);
    await roomInStep();
    const step = stepAt(Date.now()) - 1;
    const confirmed = await t.call('POST', '/api/v1/me/totp/confirm', { as, body: { otp: hotp(key, step) } });
    expect(confirmed.status).toBe(200);
    return { key, recoveryCodes: confirmed.body.recoveryCodes, step };
  }

  async function auditActions(): Promise<string[]> {
    const rows = await t.server.context.database.db
      .selectFrom('audit_log')
      .select('action')
      .orderBy('id')
      .execute();
    return rows.map((row) => row.action);
  }

  beforeAll(async () => {
    t = await startTestServer(kind);
    await createTenant(t, 'acme.com', ACME[1]);
    // Every failure here comes from 127.0.0.1: the address is given room, accounts lock after 3.
    const server = await t.call('PUT', '/api/v1/tenants/carbon.super/settings/lockout', {
      as: SUPER,
      body: { address: { maxFailures: 1000 } },
    });
    expect(server.status).toBe(200);
    const acme = await t.call('PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: SUPER,
      body: { account: { maxFailures: 3, windowSeconds: 900, lockSeconds: 60, maxLockSeconds: 3600 } },
    });
    expect(acme.status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('enrols; the password alone is refused, a code once, a recovery code once; Basic is told to use a session', async () => {
    await createUser('alice');
    const as: [string, string] = ['alice@acme.com', PASSWORD];
    const begun = await t.call('POST', '/api/v1/me/totp', { as });
    expect(begun.status).toBe(201);
    expect(begun.body.uri).toMatch(/^otpauth:\/\/totp\/Tessera%20\(acme\.com\):alice%40acme\.com\?secret=/);
    expect((await t.call('GET', '/api/v1/me/totp', { as })).body).toEqual({
      state: 'pending',
      recoveryCodesLeft: 0,
      requiredForAdmins: false,
    });
    // Until confirmed, the password alone still signs in.
    expect((await authenticate('alice@acme.com')).status).toBe(200);
    const key = base32Decode(begun.body.secret);
    await roomInStep();
    const now = stepAt(Date.now());
    const wrong = ['000000', '999999'].find((code) => ![-1, 0, 1].some((d) => hotp(key, now + d) === code));
    const refused = await t.call('POST', '/api/v1/me/totp/confirm', { as, body: { otp: wrong } });
    expect(refused.status).toBe(400);
    const confirmed = await t.call('POST', '/api/v1/me/totp/confirm', {
      as,
      body: { otp: hotp(key, now - 1) },
    });
    expect(confirmed.status).toBe(200);
    const codes: string[] = confirmed.body.recoveryCodes;
    expect(codes).toHaveLength(10);

    // The secret is sealed in the database; the key file that seals it is the owner's alone.
    const row = await t.server.context.database.db
      .selectFrom('totp_authenticators')
      .selectAll()
      .where('account', '=', 'PRIMARY/alice')
      .executeTakeFirstOrThrow();
    expect(row.secret).not.toContain(begun.body.secret);
    expect(row.confirmed_at).not.toBe(null);
    expect(statSync(path.join(t.home, 'conf', 'secrets.key')).mode & 0o777).toBe(0o600);

    const basic = await t.call('GET', '/api/v1/me/totp', { as });
    expect(basic.status).toBe(401);
    expect(basic.body.error).toBe('SECOND_FACTOR_REQUIRED');
    expect(basic.body.message).toMatch(/POST \/api\/v1\/sessions.*Bearer/);

    const alone = await authenticate('alice@acme.com');
    expect(alone.status).toBe(401);
    expect(alone.body.error).toBe('SECOND_FACTOR_REQUIRED');
    expect((await authenticate('alice@acme.com', { otp: hotp(key, now) })).status).toBe(200);
    const replay = await authenticate('alice@acme.com', { otp: hotp(key, now) });
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/already used/);
    const recovery = codes[0]?.toUpperCase() as string;
    expect((await authenticate('alice@acme.com', { recoveryCode: recovery })).status).toBe(200);
    expect((await authenticate('alice@acme.com', { recoveryCode: recovery })).status).toBe(401);
    // An older step than the last one used is refused too, even within the drift.
    expect((await authenticate('alice@acme.com', { otp: hotp(key, now - 1) })).status).toBe(401);
    // A wrong password with a right code is the plain refusal: the code says nothing about the password.
    const wrongPassword = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'alice@acme.com', password: 'not-it', otp: hotp(key, now + 1) },
    });
    expect(wrongPassword.body.error).toBe('UNAUTHENTICATED');
    // Three failures since the last success locked the account: refused whatever the next attempt carries.
    const locked = await authenticate('alice@acme.com', { recoveryCode: codes[1] as string });
    expect(locked.status).toBe(429);

    const actions = await auditActions();
    for (const action of [
      'totp.enrol',
      'login.second-factor.required',
      'login.second-factor.success',
      'login.second-factor.failure',
      'totp.recovery-used',
    ])
      expect(actions).toContain(action);
  });

  it('a console session needs the code; with it the user renews recovery codes and disables with the password', async () => {
    await createUser('carol', ['admin']);
    const { key, step } = await enrol('carol');
    const alone = await login('carol@acme.com');
    expect(alone.status).toBe(401);
    expect(alone.body.error).toBe('SECOND_FACTOR_REQUIRED');
    const session = await login('carol@acme.com', { otp: hotp(key, step + 1) });
    expect(session.status).toBe(201);
    const token: string = session.body.token;
    expect((await bearer('GET', '/api/v1/me/totp', token)).body).toMatchObject({
      state: 'active',
      recoveryCodesLeft: 10,
    });
    // A wrong code on a signed-in route counts as a failed login: a stolen session cannot guess codes there.
    const bad = ['000000', '111111', '222222'].find((code) =>
      [-1, 0, 1, 2, 3].every((d) => hotp(key, step + d) !== code),
    ) as string;
    const guessed = await bearer('POST', '/api/v1/me/totp/recovery-codes', token, { otp: bad });
    expect(guessed.status).toBe(403);
    const counted = await t.server.context.database.db
      .selectFrom('login_failures')
      .select('failures')
      .where('kind', '=', 'account')
      .where('subject', 'like', '%/PRIMARY/carol')
      .executeTakeFirst();
    expect(counted?.failures).toBe(1);
    const renewed = await bearer('POST', '/api/v1/me/totp/recovery-codes', token, {
      otp: hotp(key, step + 2),
    });
    expect(renewed.status).toBe(200);
    const fresh: string[] = renewed.body.recoveryCodes;
    expect((await login('carol@acme.com', { recoveryCode: fresh[0] as string })).status).toBe(201);
    const wrongPassword = await bearer('DELETE', '/api/v1/me/totp', token, { password: 'not-it' });
    expect(wrongPassword.status).toBe(403);
    expect((await bearer('DELETE', '/api/v1/me/totp', token, { password: PASSWORD })).status).toBe(204);
    expect((await login('carol@acme.com')).status).toBe(201);
    expect(await auditActions()).toContain('totp.disable');
  });

  it('a tenant that requires it for admins lets an admin without one do nothing but enrol', async () => {
    await createUser('dave', ['admin']);
    await createUser('erin');
    const set = await t.call('PUT', '/api/v1/tenants/acme.com/settings/second-factor', {
      as: SUPER,
      body: { requiredForAdmins: true },
    });
    expect(set.status).toBe(200);
    expect(
      (await t.call('GET', '/api/v1/tenants/acme.com/settings/second-factor', { as: SUPER })).body,
    ).toEqual({
      requiredForAdmins: true,
    });
    try {
      const basic = await t.call('GET', '/api/v1/tenants/acme.com/users', {
        as: ['dave@acme.com', PASSWORD],
      });
      expect(basic.status).toBe(403);
      expect(basic.body.error).toBe('SECOND_FACTOR_ENROLMENT_REQUIRED');
      expect(basic.body.message).toMatch(/console/);
      // A user who is not an admin is not concerned.
      expect((await authenticate('erin@acme.com')).status).toBe(200);

      const session = await login('dave@acme.com');
      expect(session.status).toBe(201);
      expect(session.body.user.mustEnrolSecondFactor).toBe(true);
      const token: string = session.body.token;
      const gated = await bearer('GET', '/api/v1/tenants/acme.com/users', token);
      expect(gated.status).toBe(403);
      expect(gated.body.error).toBe('SECOND_FACTOR_ENROLMENT_REQUIRED');
      expect((await bearer('GET', '/api/v1/sessions/current', token)).body.mustEnrolSecondFactor).toBe(true);
      const begun = await bearer('POST', '/api/v1/me/totp', token);
      expect(begun.status).toBe(201);
      await roomInStep();
      const otp = hotp(base32Decode(begun.body.secret), stepAt(Date.now()));
      expect((await bearer('POST', '/api/v1/me/totp/confirm', token, { otp })).status).toBe(200);
      // The same session now reaches the rest of the API.
      expect((await bearer('GET', '/api/v1/tenants/acme.com/users', token)).status).toBe(200);
      expect((await bearer('GET', '/api/v1/sessions/current', token)).body.mustEnrolSecondFactor).toBe(
        undefined,
      );
    } finally {
      await t.call('PUT', '/api/v1/tenants/acme.com/settings/second-factor', {
        as: SUPER,
        body: { requiredForAdmins: false },
      });
    }
  });

  it("an admin resets a user's authenticator in their tenant; the password alone works again", async () => {
    await createUser('frank');
    await enrol('frank');
    expect((await authenticate('frank@acme.com')).status).toBe(401);
    const reset = await t.call('DELETE', '/api/v1/tenants/acme.com/users/frank/totp', { as: ACME });
    expect(reset.status).toBe(204);
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/users/frank/totp', { as: ACME })).status).toBe(
      404,
    );
    // Not an admin: no reset of others.
    const byUser = await t.call('DELETE', '/api/v1/tenants/acme.com/users/frank/totp', {
      as: ['erin@acme.com', PASSWORD],
    });
    expect(byUser.status).toBe(403);
    expect((await authenticate('frank@acme.com')).status).toBe(200);
    expect(await auditActions()).toContain('totp.reset');
  });

  it('a login path with a page of its own for the code: the principal kept, then completeSecondFactor', async () => {
    await createUser('henry');
    const { key, step } = await enrol('henry');
    const attempt = { name: 'henry@acme.com', address: '127.0.0.1', via: 'app:signin' as const };
    const authenticator = t.server.context.authenticator;
    const required = await authenticator.authenticate({ ...attempt, password: PASSWORD }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(required).toBeInstanceOf(SecondFactorRequired);
    const pending = (required as SecondFactorRequired).principal;
    expect(pending.qualifiedName).toBe('henry@acme.com');
    const wrong = await authenticator.completeSecondFactor(pending, { otp: hotp(key, step) }, attempt).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((wrong as SecondFactorRequired).wrong).toBe(true);
    const passed = await authenticator.completeSecondFactor(pending, { otp: hotp(key, step + 1) }, attempt);
    expect(passed.username).toBe('henry');

    // A node whose conf/secrets.key is another (a cluster node set up without copying it) says so.
    const context = t.server.context;
    const otherNode = new SecondFactor(
      new TotpStore(context.database.db),
      new SecretBox(randomBytes(32)),
      context.secondFactorSettings,
    );
    await expect(otherNode.judge(pending, { otp: hotp(key, step + 2) })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('conf/secrets.key'),
    });
  });

  it("refuses an app's Basic login of a user with an authenticator as a wrong login, not an error", async () => {
    await createUser('ivan');
    await enrol('ivan');
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    const members = path.join(t.home, 'repository', 'tenants', String(acmeId), 'webapps', 'members');
    mkdirSync(members, { recursive: true });
    writeFileSync(path.join(members, 'index.html'), 'members only');
    writeFileSync(path.join(members, 'tessera-app.toml'), 'login = true\n');
    await t.server.context.deployer.rescan();
    const app = (name: string) =>
      fetch(`${t.server.url}/t/acme.com/members/`, {
        headers: { authorization: basicAuthorization([name, PASSWORD]) },
      });
    expect((await app('ivan')).status).toBe(401);
    await createUser('judy');
    expect((await app('judy')).status).toBe(200);
  });

  it('wrong codes lock the account, and a password given alone between them does not reset the count', async () => {
    await createUser('grace');
    const { key, step } = await enrol('grace');
    const wrong = (code: string) => authenticate('grace@acme.com', { otp: code });
    const bad = ['000000', '111111', '222222'].filter((code) =>
      [0, 1, 2].every((d) => hotp(key, step + d) !== code),
    );
    expect((await wrong(bad[0] as string)).status).toBe(401);
    expect((await wrong(bad[0] as string)).status).toBe(401);
    expect((await authenticate('grace@acme.com')).body.error).toBe('SECOND_FACTOR_REQUIRED');
    expect((await wrong(bad[0] as string)).status).toBe(401);
    const locked = await authenticate('grace@acme.com', { otp: hotp(key, step + 1) });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).not.toBe(null);
  });

  it('documents the routes in /openapi.json', async () => {
    const spec = await t.call('GET', '/openapi.json');
    for (const route of [
      '/api/v1/me/totp',
      '/api/v1/me/totp/confirm',
      '/api/v1/me/totp/recovery-codes',
      '/api/v1/tenants/{domain}/users/{username}/totp',
      '/api/v1/tenants/{domain}/settings/second-factor',
    ])
      expect(Object.keys(spec.body.paths)).toContain(route);
    expect(JSON.stringify(spec.body.paths['/api/v1/sessions'])).toContain('recoveryCode');
  });
});
