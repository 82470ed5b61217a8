import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD_POLICY, passwordProblems } from '../../src/tenants/password-policy.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('password rules', () => {
  it('names each rule a password breaks, and allows one that breaks none', () => {
    const strict = { minLength: 12, requiredClasses: 3, refuseCommon: true, refuseUsername: true };
    expect(passwordProblems('Password1', strict, 'alice')).toEqual([
      'it has 9 characters and needs at least 12 (minLength)',
      'it is one of the most common passwords, tried first by every attacker (refuseCommon)',
    ]);
    expect(passwordProblems('password', DEFAULT_PASSWORD_POLICY)).toEqual([
      'it is one of the most common passwords, tried first by every attacker (refuseCommon)',
    ]);
    expect(passwordProblems('alllowercase', strict)).toEqual([
      'it mixes 1 of the character classes (lower case, upper case, digits, others) and needs 3 (requiredClasses)',
    ]);
    expect(passwordProblems('Alice-26', { ...strict, minLength: 8 }, 'PARTNERS/alice')).toEqual([
      'it is the user name, or the user name with fewer than 4 other characters (refuseUsername)',
    ]);
    expect(passwordProblems('Alice-in-2026-!', strict, 'PARTNERS/alice')).toEqual([]);
    // Code points, not UTF-16 units: eight emoji are eight characters.
    expect(passwordProblems('🦊🦊🦊🦊🦊🦊🦊', DEFAULT_PASSWORD_POLICY)).toEqual([
      'it has 7 characters and needs at least 8 (minLength)',
    ]);
    expect(passwordProblems('Correct-Horse-42', strict, 'alice')).toEqual([]);
  });
});

describe('/api/v1/tenants/{domain}/settings/password-policy', () => {
  it('holds on every path that sets a password, per tenant, with the server default for new tenant admins', async () => {
    t = await startTestServer('sqlite');
    // The built-in default refuses the most common passwords, here for a new tenant's admin.
    const common = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: 'password123' },
    });
    expect(common.status).toBe(400);
    expect(common.body).toMatchObject({
      error: 'PASSWORD_POLICY',
      message: expect.stringContaining('refuseCommon'),
    });
    expect((await t.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).status).toBe(404);
    expect(
      (
        await t.call('POST', '/api/v1/tenants', {
          as: SUPER,
          body: { domain: 'acme.com', adminPassword: ACME[1] },
        })
      ).status,
    ).toBe(201);

    expect(
      (await t.call('GET', '/api/v1/tenants/acme.com/settings/password-policy', { as: ACME })).body,
    ).toEqual({
      policy: DEFAULT_PASSWORD_POLICY,
      from: 'default',
    });
    const set = await t.call('PUT', '/api/v1/tenants/acme.com/settings/password-policy', {
      as: ACME,
      body: { minLength: 14, requiredClasses: 3 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      policy: {
        minLength: 14,
        requiredClasses: 3,
        refuseCommon: true,
        refuseUsername: true,
        maxAgeDays: null,
      },
      from: 'tenant',
    });

    // Creating a user and resetting a password both follow the tenant's policy, naming the rule.
    const short = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: 'alice', password: 'Short-1', roles: [] },
    });
    expect(short.status).toBe(400);
    expect(short.body.message).toContain('needs at least 14 (minLength)');
    expect(
      (
        await t.call('POST', '/api/v1/tenants/acme.com/users', {
          as: ACME,
          body: { username: 'alice', password: 'Long-enough-2026', roles: [] },
        })
      ).status,
    ).toBe(201);
    const reset = await t.call('PUT', '/api/v1/tenants/acme.com/users/alice/password', {
      as: ACME,
      body: { password: 'only-lower-case-letters' },
    });
    expect(reset.status).toBe(400);
    expect(reset.body.message).toContain('(requiredClasses)');
    const login = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'alice@acme.com', password: 'Long-enough-2026' },
    });
    expect(login.status).toBe(200);

    // Another tenant keeps the default; the super tenant's policy becomes the server's default for it.
    expect(
      (
        await t.call('PUT', '/api/v1/tenants/carbon.super/settings/password-policy', {
          as: SUPER,
          body: { minLength: 10 },
        })
      ).body,
    ).toMatchObject({ from: 'server', policy: { minLength: 10 } });
    const beta = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'beta.com', adminPassword: 'beta-adm1' },
    });
    expect(beta.status).toBe(400);
    expect(beta.body.message).toContain('needs at least 10 (minLength)');
    expect(
      (
        await t.call('POST', '/api/v1/tenants', {
          as: SUPER,
          body: { domain: 'beta.com', adminPassword: 'beta-admin-pw' },
        })
      ).status,
    ).toBe(201);
    expect(
      (await t.call('GET', '/api/v1/tenants/beta.com/settings/password-policy', { as: SUPER })).body,
    ).toMatchObject({ from: 'server', policy: { minLength: 10 } });

    // A tenant admin manages its own policy only; bad values are refused with the field named.
    expect(
      (
        await t.call('PUT', '/api/v1/tenants/beta.com/settings/password-policy', {
          as: ACME,
          body: { minLength: 9 },
        })
      ).status,
    ).toBe(404);
    const low = await t.call('PUT', '/api/v1/tenants/acme.com/settings/password-policy', {
      as: ACME,
      body: { minLength: 4 },
    });
    expect(low.status).toBe(400);
    expect(low.body.message).toMatch(/minLength/);

    // Removed: the server's policy applies again.
    const removed = await t.call('DELETE', '/api/v1/tenants/acme.com/settings/password-policy', { as: ACME });
    expect(removed.body).toMatchObject({ from: 'server', policy: { minLength: 10, requiredClasses: 0 } });
  });
});
