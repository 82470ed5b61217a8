import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordAge } from '../../src/identity/password-age.js';
import { legacySha256 } from '../../src/userstores/passwords.js';
import { basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant } from '../helpers/tenant-stores.js';

const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const DAY = 24 * 60 * 60 * 1000;

describe.each(['sqlite', 'postgres'] as const)('password maximum age on %s', (kind) => {
  let t: TestServer;
  let acmeId: number;
  const db = () => t.server.context.database.db;
  const authenticate = (username: string, password: string) =>
    t.call('POST', '/api/v1/authenticate', { body: { username, password } });
  const change = (username: string, currentPassword: string, newPassword: string) =>
    t.call('POST', '/api/v1/password', { body: { username, currentPassword, newPassword } });
  const changedAt = async (username: string) =>
    (
      await db()
        .selectFrom('users')
        .select('password_changed_at')
        .where('tenant_id', '=', acmeId)
        .where('username', '=', username)
        .executeTakeFirstOrThrow()
    ).password_changed_at;
  const setChangedAt = (username: string, at: number | null) =>
    db()
      .updateTable('users')
      .set({ password_changed_at: at })
      .where('tenant_id', '=', acmeId)
      .where('username', '=', username)
      .execute();
  const addUser = async (username: string, password: string) => {
    const created = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username, password },
    });
    expect(created.status).toBe(201);
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    await createTenant(t, 'acme.com', ACME[1]);
    acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    const policy = await t.call('PUT', '/api/v1/tenants/acme.com/settings/password-policy', {
      as: ACME,
      body: { minLength: 10, maxAgeDays: 30 },
    });
    expect(policy.status).toBe(200);
    expect(policy.body.policy).toMatchObject({ minLength: 10, maxAgeDays: 30 });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses an expired password on every login path, audited, and lets the user change it', async () => {
    const before = Date.now();
    await addUser('alice', 'alice-first-pw');
    const created = await changedAt('alice');
    expect(created).toBeGreaterThanOrEqual(before);
    expect((await authenticate('alice@acme.com', 'alice-first-pw')).status).toBe(200);

    await setChangedAt('alice', Date.now() - 31 * DAY);
    const refused = await authenticate('alice@acme.com', 'alice-first-pw');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('PASSWORD_EXPIRED');
    const session = await t.call('POST', '/api/v1/sessions', {
      body: { username: 'alice@acme.com', password: 'alice-first-pw' },
    });
    expect(session.status).toBe(403);
    expect(session.body.error).toBe('PASSWORD_EXPIRED');
    expect(session.body.token).toBeUndefined();
    // A wrong password is still just a wrong password: expiry is told only to who knows the password.
    expect((await authenticate('alice@acme.com', 'not-her-password')).status).toBe(401);

    const audit = await t.call('GET', '/api/v1/tenants/acme.com/audit?action=login.&actor=alice@acme.com', {
      as: ACME,
    });
    expect(
      audit.body.entries.slice(0, 3).map((e: { action: string; detail: { reason: string } }) => ({
        action: e.action,
        reason: e.detail.reason,
      })),
    ).toEqual([
      { action: 'login.failure', reason: 'wrong-password' },
      { action: 'login.failure', reason: 'password-expired' },
      { action: 'login.failure', reason: 'password-expired' },
    ]);

    // The change path: the current password proves who asks, the policy holds, the same password is refused.
    expect((await change('alice@acme.com', 'not-her-password', 'alice-second-pw')).status).toBe(401);
    const short = await change('alice@acme.com', 'alice-first-pw', 'Short-1');
    expect(short.status).toBe(400);
    expect(short.body).toMatchObject({
      error: 'PASSWORD_POLICY',
      message: expect.stringContaining('(minLength)'),
    });
    const same = await change('alice@acme.com', 'alice-first-pw', 'alice-first-pw');
    expect(same.status).toBe(400);
    const changed = await change('alice@acme.com', 'alice-first-pw', 'alice-second-pw');
    expect(changed.status).toBe(204);
    expect(await changedAt('alice')).toBeGreaterThanOrEqual(before);
    expect((await authenticate('alice@acme.com', 'alice-first-pw')).status).toBe(401);
    expect((await authenticate('alice@acme.com', 'alice-second-pw')).status).toBe(200);
    const trail = await t.call('GET', '/api/v1/tenants/acme.com/audit?action=password.change', { as: ACME });
    expect(trail.body.entries.map((e: { actor: string; target: string }) => [e.actor, e.target])).toEqual([
      ['alice@acme.com', 'alice'],
    ]);

    // HTTP Basic on the admin API: the tenant admin's own expired password is refused the same way.
    await setChangedAt('admin', Date.now() - 31 * DAY);
    const basic = await fetch(`${t.server.url}/api/v1/tenants/acme.com`, {
      headers: { authorization: basicAuthorization(ACME) },
    });
    expect(basic.status).toBe(403);
    expect(((await basic.json()) as { error: string }).error).toBe('PASSWORD_EXPIRED');
    await setChangedAt('admin', Date.now());
  });

  it('is a login path: wrong current passwords lock the account, the right one then waits too', async () => {
    await addUser('bob', 'bob-first-password');
    const lockout = await t.call('PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: ACME,
      body: { account: { maxFailures: 3 } },
    });
    expect(lockout.status).toBe(200);
    for (let i = 0; i < 3; i++)
      expect((await change('bob@acme.com', `guess-${i}`, 'bob-second-password')).status).toBe(401);
    const locked = await change('bob@acme.com', 'bob-first-password', 'bob-second-password');
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('TOO_MANY_ATTEMPTS');
    expect((await authenticate('bob@acme.com', 'bob-first-password')).status).toBe(429);
  });

  it('counts a password set before 2.1.0 from the upgrade, and a legacy re-hash is no change', async () => {
    // A 1.x user: a salted SHA-256 hash and no date, as the upgrade leaves it.
    const salt = 'c0ffee';
    await db()
      .insertInto('users')
      .values({
        tenant_id: acmeId,
        username: 'carol',
        password_hash: legacySha256('carol-legacy-pw', salt),
        password_salt: salt,
        password_algorithm: 'sha256',
        is_system: 0,
        created_at: Date.now() - 400 * DAY,
        password_changed_at: null,
      })
      .execute();
    // This database reached 2.1.0 a moment ago: the old password has 30 days left, not none.
    expect((await authenticate('carol@acme.com', 'carol-legacy-pw')).status).toBe(200);
    const carol = await db()
      .selectFrom('users')
      .select(['password_algorithm', 'password_changed_at'])
      .where('tenant_id', '=', acmeId)
      .where('username', '=', 'carol')
      .executeTakeFirstOrThrow();
    expect(carol).toEqual({ password_algorithm: 'argon2id', password_changed_at: null });

    // Had 2.1.0 been reached 40 days ago, the same undated password would be past its 30 days.
    await db()
      .updateTable('tessera_schema_history')
      .set({ started_at: Date.now() - 40 * DAY })
      .where('version', '=', '2.1.0')
      .execute();
    const age = new PasswordAge(db(), t.server.context.passwordPolicies);
    expect(await age.expired(acmeId, null)).toBe(true);
    expect(await age.expired(acmeId, Date.now() - 29 * DAY)).toBe(false);
  });
});
