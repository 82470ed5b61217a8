import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../src/identity/authenticator.js';
import {
  idleSecondsFromEnvironment,
  MAX_SESSION_SECONDS,
  MAX_SESSIONS_PER_USER,
  SessionStore,
} from '../../src/identity/sessions.js';
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
const ACME = { id: 1, createdAt: '2026-01-01T00:00:00.000Z' };
const stores: SessionStore[] = [];
/** A store whose timer is stopped after the test. */
function sessionStore(...args: ConstructorParameters<typeof SessionStore>): SessionStore {
  const store = new SessionStore(...args);
  stores.push(store);
  return store;
}
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

describe('SessionStore', () => {
  it('expires a session left idle, while use keeps a session alive up to its maximum age', () => {
    let now = 1_000_000;
    const store = sessionStore(60, () => now);
    const idle = store.create(ALICE, ACME);
    const busy = store.create(ALICE, ACME);
    expect(idle.expiresAt.getTime()).toBe(now + 60_000);
    now += 59_000;
    expect(store.use(busy.token)?.principal).toEqual(ALICE);
    now += 1_000;
    expect(store.use(idle.token)).toBeUndefined();
    expect(store.use(busy.token)?.principal).toEqual(ALICE);
    // Used every 30 s, the busy session still ends at its maximum age.
    while (now < 1_000_000 + MAX_SESSION_SECONDS * 1000 - 30_000) {
      now += 30_000;
      expect(store.use(busy.token)?.principal).toEqual(ALICE);
    }
    now += 30_000;
    expect(store.use(busy.token)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('forgets revoked tokens and never knows made-up ones', () => {
    const store = sessionStore();
    const session = store.create(ALICE, ACME);
    expect(store.use(`${session.token}x`)).toBeUndefined();
    expect(store.revoke(session.token)).toBe(true);
    expect(store.use(session.token)).toBeUndefined();
  });

  it('keeps at most MAX_SESSIONS_PER_USER sessions per user, ending the oldest', () => {
    const store = sessionStore();
    const bob = { ...ALICE, username: 'bob', qualifiedName: 'bob@acme.com' };
    const bobs = store.create(bob, ACME);
    const tokens = Array.from({ length: MAX_SESSIONS_PER_USER }, () => store.create(ALICE, ACME).token);
    expect(store.size).toBe(MAX_SESSIONS_PER_USER + 1);
    const newest = store.create(ALICE, ACME);
    expect(store.size).toBe(MAX_SESSIONS_PER_USER + 1);
    expect(store.use(tokens[0] as string)).toBeUndefined();
    expect(store.use(tokens[1] as string)).toBeDefined();
    expect(store.use(newest.token)).toBeDefined();
    // Another user's session is not theirs to evict.
    expect(store.use(bobs.token)).toBeDefined();
    // Revoked sessions no longer count against the cap.
    store.revokeUser(1, 'PRIMARY', 'admin');
    const again = Array.from({ length: MAX_SESSIONS_PER_USER }, () => store.create(ALICE, ACME).token);
    for (const token of again) expect(store.use(token)).toBeDefined();
    expect(store.size).toBe(MAX_SESSIONS_PER_USER + 1);
  });

  it("revokes one user's sessions, whatever the case of the name, and no one else's", () => {
    const store = sessionStore();
    const alice = [store.create(ALICE, ACME), store.create(ALICE, ACME)];
    const other = store.create({ ...ALICE, tenantId: 2, tenantDomain: 'other.com' }, { ...ACME, id: 2 });
    expect(store.revokeUser(1, 'primary', 'ADMIN')).toBe(2);
    for (const session of alice) expect(store.use(session.token)).toBeUndefined();
    expect(store.use(other.token)).toBeDefined();
  });

  it('asks for the user to be looked up again every RECHECK_SECONDS', () => {
    let now = 1_000_000;
    const store = sessionStore(3600, () => now, { recheckSeconds: 60 });
    const { token } = store.create(ALICE, ACME);
    expect(store.use(token)?.recheckDue).toBe(false);
    now += 60_000;
    expect(store.use(token)?.recheckDue).toBe(true);
    store.checked(token);
    expect(store.use(token)?.recheckDue).toBe(false);
  });

  it('forgets expired sessions from a timer, not from logins', async () => {
    let now = 1_000_000;
    const store = sessionStore(60, () => now, { sweepSeconds: 0.05 });
    store.create(ALICE, ACME);
    now += 60_000;
    store.create({ ...ALICE, username: 'bob' }, ACME);
    // A login no longer walks every session: the expired one is still counted until the sweep.
    expect(store.size).toBe(2);
    await vi.waitFor(() => expect(store.size).toBe(1));
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

describe('who a session belongs to', () => {
  const acmeUsers = '/api/v1/tenants/acme.com/users';

  async function withAcme(): Promise<TestServer> {
    const server = await startTestServer('sqlite');
    const created = await server.call('POST', '/api/v1/tenants', {
      as: ['admin', ADMIN_PASSWORD],
      body: { domain: 'acme.com', adminPassword: 'acme-admin-pw' },
    });
    expect(created.status).toBe(201);
    return server;
  }

  async function bearer(server: TestServer, username: string, password: string) {
    const created = await server.call('POST', '/api/v1/sessions', { body: { username, password } });
    expect(created.status).toBe(201);
    return { authorization: `Bearer ${created.body.token}` };
  }

  const get = (server: TestServer, route: string, headers: Record<string, string>) =>
    fetch(`${server.server.url}${route}`, { headers });

  it('gives sessions to admins only', async () => {
    t = await withAcme();
    const added = await t.call('POST', acmeUsers, {
      as: ['admin', ADMIN_PASSWORD],
      body: { username: 'clerk', password: 'clerk-password' },
    });
    expect(added.status).toBe(201);
    const refused = await t.call('POST', '/api/v1/sessions', {
      body: { username: 'clerk@acme.com', password: 'clerk-password' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'FORBIDDEN', message: /Only tenant admins/ });
  });

  it('refuses the token of a tenant deleted and created again under the same domain', async () => {
    t = await withAcme();
    const acme = await bearer(t, 'admin@acme.com', 'acme-admin-pw');
    expect((await get(t, acmeUsers, acme)).status).toBe(200);
    expect(
      (await t.call('DELETE', '/api/v1/tenants/acme.com', { as: ['admin', ADMIN_PASSWORD] })).status,
    ).toBe(204);
    await t.call('POST', '/api/v1/tenants', {
      as: ['admin', ADMIN_PASSWORD],
      body: { domain: 'acme.com', adminPassword: 'another-admin-pw' },
    });
    const refused = await get(t, acmeUsers, acme);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { message: string }).message).toMatch(/deleted/);
  });

  it.each([
    ['whose admin role is removed', 'PUT', '/roles', { roles: [] }],
    ['who is deleted', 'DELETE', '', undefined],
    ['whose password is reset', 'PUT', '/password', { password: 'a-brand-new-password' }],
  ] as const)('ends the sessions of an admin %s', async (_what, method, suffix, body) => {
    t = await withAcme();
    const added = await t.call('POST', acmeUsers, {
      as: ['admin', ADMIN_PASSWORD],
      body: { username: 'boss', password: 'boss-password', roles: ['admin'] },
    });
    expect(added.status).toBe(201);
    const boss = await bearer(t, 'boss@acme.com', 'boss-password');
    const other = await bearer(t, 'admin@acme.com', 'acme-admin-pw');
    expect((await get(t, acmeUsers, boss)).status).toBe(200);
    const changed = await t.call(method, `${acmeUsers}/boss${suffix}`, {
      as: ['admin', ADMIN_PASSWORD],
      body,
    });
    expect(changed.status).toBeLessThan(300);
    expect((await get(t, acmeUsers, boss)).status).toBe(401);
    expect((await get(t, acmeUsers, other)).status).toBe(200);
  });

  it('looks the user up again after a minute, catching changes made behind the API', async () => {
    t = await withAcme();
    const acme = await bearer(t, 'admin@acme.com', 'acme-admin-pw');
    const tenantId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ['admin', ADMIN_PASSWORD] })).body
      .id as number;
    await t.server.context.stores.store(tenantId, 'PRIMARY')?.setUserRoles('admin', []);
    expect((await get(t, acmeUsers, acme)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 61_000);
      const refused = await get(t, acmeUsers, acme);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { message: string }).message).toMatch(/no longer an admin/);
    } finally {
      vi.useRealTimers();
    }
  });
});
