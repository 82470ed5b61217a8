import { afterEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/server/auth.js';
import { idleSecondsFromEnvironment, MAX_SESSION_SECONDS, SessionStore } from '../../src/server/sessions.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const ALICE: Principal = {
  tenantId: 1,
  tenantDomain: 'acme.com',
  store: 'PRIMARY',
  username: 'admin',
  qualifiedName: 'admin@acme.com',
  roles: ['admin'],
  isTenantAdmin: true,
  isSuperAdmin: false,
};

describe('SessionStore', () => {
  it('expires a session left idle, while use keeps a session alive up to its maximum age', () => {
    let now = 1_000_000;
    const store = new SessionStore(60, () => now);
    const idle = store.create(ALICE);
    const busy = store.create(ALICE);
    expect(idle.expiresAt.getTime()).toBe(now + 60_000);
    now += 59_000;
    expect(store.use(busy.token)).toEqual(ALICE);
    now += 1_000;
    expect(store.use(idle.token)).toBeUndefined();
    expect(store.use(busy.token)).toEqual(ALICE);
    // Used every 30 s, the busy session still ends at its maximum age.
    while (now < 1_000_000 + MAX_SESSION_SECONDS * 1000 - 30_000) {
      now += 30_000;
      expect(store.use(busy.token)).toEqual(ALICE);
    }
    now += 30_000;
    expect(store.use(busy.token)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('forgets revoked tokens and never knows made-up ones', () => {
    const store = new SessionStore();
    const session = store.create(ALICE);
    expect(store.use(`${session.token}x`)).toBeUndefined();
    expect(store.revoke(session.token)).toBe(true);
    expect(store.use(session.token)).toBeUndefined();
  });

  it('reads the idle expiry from the environment, ignoring nonsense', () => {
    expect(idleSecondsFromEnvironment('5')).toBe(5);
    expect(idleSecondsFromEnvironment('abc')).toBe(30 * 60);
    expect(idleSecondsFromEnvironment('-1')).toBe(30 * 60);
    expect(idleSecondsFromEnvironment(undefined)).toBe(30 * 60);
  });
});

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('/api/v1/sessions', () => {
  it('trades a password for a Bearer token the admin API accepts until logout', async () => {
    t = await startTestServer('sqlite');
    const refused = await t.call('POST', '/api/v1/sessions', {
      body: { username: 'admin', password: 'wrong' },
    });
    expect(refused.status).toBe(401);
    // A Basic challenge would make browsers show their own password prompt over the console.
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const created = await t.call('POST', '/api/v1/sessions', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toEqual({
      name: 'admin@carbon.super',
      tenant: 'carbon.super',
      roles: ['admin'],
      isTenantAdmin: true,
      isSuperAdmin: true,
    });
    expect(Date.parse(created.body.expiresAt)).toBeGreaterThan(Date.now());
    const bearer = { authorization: `Bearer ${created.body.token}` };
    const url = t.server.url;

    const tenants = await fetch(`${url}/api/v1/tenants`, { headers: bearer });
    expect(tenants.status).toBe(200);
    expect(((await tenants.json()) as { tenants: { domain: string }[] }).tenants[0]?.domain).toBe(
      'carbon.super',
    );
    const me = await fetch(`${url}/api/v1/sessions/current`, { headers: bearer });
    expect(((await me.json()) as { name: string }).name).toBe('admin@carbon.super');

    expect(
      (await fetch(`${url}/api/v1/sessions/current`, { method: 'DELETE', headers: bearer })).status,
    ).toBe(204);
    const after = await fetch(`${url}/api/v1/tenants`, { headers: bearer });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await after.json()) as { error: string }).error).toBe('UNAUTHENTICATED');
    // Basic keeps working alongside.
    expect((await t.call('GET', '/api/v1/tenants', { as: ['admin', ADMIN_PASSWORD] })).status).toBe(200);
  });

  it('ends sessions idle for TESSERA_SESSION_IDLE_SECONDS and those of a deactivated tenant', async () => {
    process.env.TESSERA_SESSION_IDLE_SECONDS = '1';
    try {
      t = await startTestServer('sqlite');
    } finally {
      delete process.env.TESSERA_SESSION_IDLE_SECONDS;
    }
    const url = t.server.url;
    const login = async (username: string, password: string) => {
      const created = await t?.call('POST', '/api/v1/sessions', { body: { username, password } });
      expect(created?.status).toBe(201);
      return { authorization: `Bearer ${created?.body.token}` };
    };
    const idle = await login('admin', ADMIN_PASSWORD);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await fetch(`${url}/api/v1/tenants`, { headers: idle })).status).toBe(401);

    await t.call('POST', '/api/v1/tenants', {
      as: ['admin', ADMIN_PASSWORD],
      body: { domain: 'acme.com', adminPassword: 'acme-admin-pw' },
    });
    const acme = await login('admin@acme.com', 'acme-admin-pw');
    expect((await fetch(`${url}/api/v1/tenants/acme.com/users`, { headers: acme })).status).toBe(200);
    await t.call('PATCH', '/api/v1/tenants/acme.com', {
      as: ['admin', ADMIN_PASSWORD],
      body: { active: false },
    });
    const refused = await fetch(`${url}/api/v1/tenants/acme.com/users`, { headers: acme });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { message: string }).message).toMatch(/no longer active/);
  });
});
