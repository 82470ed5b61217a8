import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hash, verify } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARGON2_OPTIONS } from '../../src/userstores/passwords.js';
import { ADMIN_PASSWORD, basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const GLOBEX: [string, string] = ['admin@globex.com', 'globex-admin-pw'];
const PASSWORD = 'the-right-password';
/** acme.com's policy in these tests: the 4th attempt is refused, and the first lock lasts 1 s. */
const SHORT_LOCK = { account: { maxFailures: 3, windowSeconds: 900, lockSeconds: 1, maxLockSeconds: 3600 } };

/** One login path: a status for `name` (as typed in the tenant acme.com) and `password`. */
type Login = (url: string, name: string, password: string) => Promise<Response>;

const json = (url: string, route: string, body: unknown) =>
  fetch(`${url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Each login path with the user it locks (a user per path, so that each test starts unlocked). */
const PATHS: [string, string, Login][] = [
  [
    'POST /authenticate',
    'alice',
    (url, name, password) => json(url, '/api/v1/authenticate', { username: `${name}@acme.com`, password }),
  ],
  [
    'HTTP Basic on the admin API',
    'bob',
    (url, name, password) =>
      fetch(`${url}/api/v1/sessions/current`, {
        headers: { authorization: basicAuthorization([`${name}@acme.com`, password]) },
      }),
  ],
  [
    'POST /sessions',
    'carol',
    (url, name, password) => json(url, '/api/v1/sessions', { username: `${name}@acme.com`, password }),
  ],
  [
    "an app's login",
    'dave',
    (url, name, password) =>
      fetch(`${url}/t/acme.com/members/`, {
        headers: { authorization: basicAuthorization([name, password]) },
      }),
  ],
];

const SUCCESS: Record<string, number> = {
  'POST /authenticate': 200,
  'HTTP Basic on the admin API': 200,
  'POST /sessions': 201,
  "an app's login": 200,
};

/** Failures recorded at once for one account, as nodes would race: each counted, on every engine. */
async function expectEveryConcurrentFailureCounted(t: TestServer): Promise<void> {
  const { failures } = t.server.context.lockout;
  const subject = { kind: 'account', subject: '0/PRIMARY/raced', tenantId: null } as const;
  const rule = { maxFailures: 100, windowSeconds: 900, lockSeconds: 60, maxLockSeconds: 3600 };
  await Promise.all(Array.from({ length: 25 }, () => failures.recordFailure(subject, rule)));
  const [row] = await failures.read([subject]);
  expect(row?.failures).toBe(25);
  expect(await failures.clear('account', subject.subject)).toBe(true);
}

// The login paths behave the same on every engine; only the counter's compare-and-set is the engine's own,
// so MariaDB runs that test alone (below) rather than the whole file a third time.
describe.each(['sqlite', 'postgres'] as const)('login lockout on %s', (kind) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(kind);
    await createTenant(t, 'acme.com', ACME[1]);
    await createTenant(t, 'globex.com', GLOBEX[1]);
    for (const [, username] of PATHS) {
      // carol logs in to the console, which takes tenant admins only.
      const roles = username === 'carol' ? ['admin'] : [];
      const created = await t.call('POST', '/api/v1/tenants/acme.com/users', {
        as: ACME,
        body: { username, password: PASSWORD, roles },
      });
      expect(created.status, username).toBe(201);
    }
    const created = await t.call('POST', '/api/v1/tenants/globex.com/users', {
      as: GLOBEX,
      body: { username: 'erin', password: PASSWORD },
    });
    expect(created.status).toBe(201);
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    const members = path.join(t.home, 'repository', 'tenants', String(acmeId), 'webapps', 'members');
    mkdirSync(members, { recursive: true });
    writeFileSync(path.join(members, 'index.html'), 'members only');
    writeFileSync(path.join(members, 'tessera-app.toml'), 'login = true\n');
    await t.server.context.deployer.rescan();
    const set = await t.call('PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: ACME,
      body: SHORT_LOCK,
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ ...SHORT_LOCK, source: 'tenant' });
    // Every test here fails from 127.0.0.1: the address is given room until its own test below.
    const server = await t.call('PUT', '/api/v1/tenants/carbon.super/settings/lockout', {
      as: SUPER,
      body: { address: { maxFailures: 1000 } },
    });
    expect(server.status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it.each(PATHS)(
    '%s: the 4th attempt answers 429 with Retry-After, the right password too, until the lock passes',
    async (what, name, login) => {
      const url = t.server.url;
      for (let attempt = 1; attempt <= 3; attempt++) {
        const refused = await login(url, name, 'wrong-password');
        expect(refused.status, `${what}: attempt ${attempt}`).toBe(401);
      }
      const locked = await login(url, name, 'wrong-password');
      expect(locked.status).toBe(429);
      expect(locked.headers.get('retry-after')).toBe('1');
      const body = (await locked.json()) as { error: string; message: string };
      expect(body.error).toBe('TOO_MANY_ATTEMPTS');
      expect(body.message).not.toMatch(/password|invalid|exist/i);
      const lockedRight = await login(url, name, PASSWORD);
      expect(lockedRight.status, 'the right password while locked').toBe(429);
      // The same answer as a wrong password's: nothing tells whether it was right.
      expect(await lockedRight.json()).toEqual(body);

      await sleep(1_100);
      expect((await login(url, name, PASSWORD)).status, 'after the lock').toBe(SUCCESS[what]);
      // The success reset the account's failures: two more wrong ones do not lock it.
      for (let attempt = 1; attempt <= 2; attempt++)
        expect((await login(url, name, 'wrong-password')).status).toBe(401);
      expect((await login(url, name, PASSWORD)).status).toBe(SUCCESS[what]);
    },
  );

  it('counts names that do not exist, in tenants that do not exist, alike', async () => {
    const url = t.server.url;
    for (const username of ['nobody@acme.com', 'nobody@nowhere.example']) {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const body = { username, password: 'wrong-password' };
        expect((await json(url, '/api/v1/authenticate', body)).status).toBe(401);
      }
      const locked = await json(url, '/api/v1/authenticate', { username, password: 'x' });
      // nowhere.example has no policy of its own: the server's (5 failures) applies, not acme.com's.
      expect(locked.status, username).toBe(username.endsWith('acme.com') ? 429 : 401);
    }
  });

  it('refuses a locked login without computing a hash: far under one argon2 verification', async () => {
    const url = t.server.url;
    // A fresh account with a long lock, so that every timed refusal below finds it locked.
    const set = await t.call('PUT', '/api/v1/tenants/globex.com/settings/lockout', {
      as: GLOBEX,
      body: { account: { maxFailures: 3, lockSeconds: 600 } },
    });
    expect(set.status).toBe(200);
    // CPU time of this process (the server runs in it, argon2's threads included), not wall time: on a
    // loaded machine the wall clock measures the other processes too.
    const cpuMs = async (usernames: readonly string[], password: string, status: number) => {
      const before = process.cpuUsage();
      for (const username of usernames) {
        const response = await json(url, '/api/v1/authenticate', { username, password });
        await response.arrayBuffer();
        expect(response.status, username).toBe(status);
      }
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / usernames.length;
    };
    const erin = (times: number) => Array.from({ length: times }, () => 'erin@globex.com');
    // A refusal that checks a hash: names unknown in globex.com (each failing once: none locks), which
    // spend a dummy argon2id verification, and otherwise the locked refusal's path plus the counting.
    const ghosts = (from: number) => Array.from({ length: 8 }, (_, i) => `ghost${from + i}@globex.com`);
    await cpuMs(ghosts(0), 'wrong-password', 401); // warms the path up
    const checked = await cpuMs(ghosts(100), 'wrong-password', 401);
    await cpuMs(erin(3), 'wrong-password', 401);
    await cpuMs(erin(5), PASSWORD, 429); // warms the refusal's path up
    const locked = await cpuMs(erin(20), PASSWORD, 429);
    // One argon2id verification at Tessera's cost, as the store makes it, on the CPU of this process too.
    const stored = await hash(PASSWORD, ARGON2_OPTIONS);
    const before = process.cpuUsage();
    for (let round = 1; round <= 5; round++) await verify(stored, 'wrong-password');
    const used = process.cpuUsage(before);
    const argon2 = (used.user + used.system) / 1000 / 5;
    // What the two refusals share (HTTP, logs, the lock check, the audit row) cancels out: a locked refusal
    // is cheaper by about a whole hash. Were a hash computed while locked, the difference would be the
    // counting writes alone, a small fraction of one.
    process.stdout.write(
      `${kind}: CPU per refusal checked ${checked.toFixed(2)} ms, locked ${locked.toFixed(2)} ms; argon2id ${argon2.toFixed(2)} ms\n`,
    );
    expect(
      checked - locked,
      `CPU per refusal: checked ${checked.toFixed(2)} ms, locked ${locked.toFixed(2)} ms; argon2id ${argon2.toFixed(2)} ms`,
    ).toBeGreaterThan(0.5 * argon2);
    expect((await t.call('DELETE', '/api/v1/tenants/globex.com/lockouts/erin', { as: GLOBEX })).status).toBe(
      204,
    );
  });

  it('lists and unlocks an account through the API, for its tenant admin only, audited', async () => {
    const url = t.server.url;
    for (let attempt = 1; attempt <= 3; attempt++)
      await json(url, '/api/v1/authenticate', { username: 'Erin@globex.com', password: 'wrong' });
    expect(
      (await json(url, '/api/v1/authenticate', { username: 'erin@globex.com', password: PASSWORD })).status,
    ).toBe(429);
    const listed = await t.call('GET', '/api/v1/tenants/globex.com/lockouts', { as: GLOBEX });
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0]).toMatchObject({ name: 'erin', failures: 3, lockouts: 1 });
    expect(Date.parse(listed.body[0].lockedUntil)).toBeGreaterThan(Date.now() + 500_000);
    // Another tenant's admin sees no such tenant; the super admin sees every tenant's.
    expect((await t.call('GET', '/api/v1/tenants/globex.com/lockouts', { as: ACME })).status).toBe(404);
    expect((await t.call('DELETE', '/api/v1/tenants/globex.com/lockouts/erin', { as: ACME })).status).toBe(
      404,
    );
    expect((await t.call('GET', '/api/v1/tenants/globex.com/lockouts', { as: SUPER })).body).toHaveLength(1);

    expect((await t.call('DELETE', '/api/v1/tenants/globex.com/lockouts/erin', { as: GLOBEX })).status).toBe(
      204,
    );
    expect(
      (await json(url, '/api/v1/authenticate', { username: 'erin@globex.com', password: PASSWORD })).status,
    ).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/globex.com/lockouts', { as: GLOBEX })).body).toEqual([]);
    expect((await t.call('DELETE', '/api/v1/tenants/globex.com/lockouts/erin', { as: GLOBEX })).status).toBe(
      404,
    );
    const audit = await t.server.context.database.db
      .selectFrom('audit_log')
      .select(['actor', 'target'])
      .where('action', '=', 'lockout.clear')
      .execute();
    expect(audit).toContainEqual({ actor: 'admin@globex.com', target: 'erin' });
  });

  it('counts every one of many failures made at once (compare-and-set, as nodes would race)', async () => {
    await expectEveryConcurrentFailureCounted(t);
  });

  it('checks the policy: at most 100 failures an hour per account, in range, addresses the server only', async () => {
    const put = (as: [string, string], domain: string, body: unknown) =>
      t.call('PUT', `/api/v1/tenants/${domain}/settings/lockout`, { as, body });
    const refusals: [unknown, string][] = [
      [{ account: { maxFailures: 101 } }, 'account.maxFailures is a whole number from 1 to 100'],
      [{ account: { maxFailures: 50, windowSeconds: 60 } }, 'OWASP ASVS allows at most 100'],
      [{ account: { lockSeconds: 1, maxLockSeconds: 1 } }, 'OWASP ASVS allows at most 100'],
      [
        { account: { lockSeconds: 600, maxLockSeconds: 60 } },
        'account.maxLockSeconds is at least account.lockSeconds',
      ],
      [{ account: { windowSeconds: 0 } }, 'account.windowSeconds is a whole number from 1 to 86400'],
      [{ account: { tries: 3 } }, '"account" has no "tries"'],
      [{ accounts: {} }, 'the lockout setting has no "accounts"'],
      [{ address: { maxFailures: 10 } }, 'only the super tenant sets "address"'],
    ];
    for (const [body, rule] of refusals) {
      const refused = await put(ACME, 'acme.com', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error).toBe('BAD_REQUEST');
      expect(refused.body.message).toContain(rule);
    }
    // Nothing refused was stored.
    const own = await t.call('GET', '/api/v1/tenants/acme.com/settings/lockout', { as: ACME });
    expect(own.body).toEqual({ ...SHORT_LOCK, source: 'tenant' });
    // A tenant admin sets only its own tenant's; the server's is the super admin's.
    expect((await put(ACME, 'globex.com', SHORT_LOCK)).status).toBe(404);
    expect((await put(ACME, 'carbon.super', SHORT_LOCK)).status).toBe(404);
    const server = await t.call('GET', '/api/v1/tenants/carbon.super/settings/lockout', { as: SUPER });
    expect(server.body).toEqual({
      account: { maxFailures: 5, windowSeconds: 900, lockSeconds: 60, maxLockSeconds: 3600 },
      address: { maxFailures: 1000, windowSeconds: 900, lockSeconds: 300, maxLockSeconds: 3600 },
      source: 'server',
    });
    // A tenant without a setting of its own has the server's account rule, and no address rule to show.
    await createTenant(t, 'initech.com', 'initech-admin-pw');
    const inherited = await t.call('GET', '/api/v1/tenants/initech.com/settings/lockout', {
      as: ['admin@initech.com', 'initech-admin-pw'],
    });
    expect(inherited.body).toEqual({ account: server.body.account, source: 'server' });
  });

  it('keeps counting in maintenance: a lockout is not a write the mode holds still', async () => {
    const url = t.server.url;
    const on = await t.call('PUT', '/api/v1/maintenance', { as: SUPER, body: { message: 'upgrading' } });
    expect(on.status).toBe(200);
    try {
      for (let attempt = 1; attempt <= 3; attempt++)
        expect(
          (await json(url, '/api/v1/authenticate', { username: 'alice@acme.com', password: 'x' })).status,
        ).toBe(401);
      expect(
        (await json(url, '/api/v1/authenticate', { username: 'alice@acme.com', password: 'x' })).status,
      ).toBe(429);
    } finally {
      expect((await t.call('DELETE', '/api/v1/maintenance', { as: SUPER })).status).toBe(200);
    }
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/lockouts/alice', { as: ACME })).status).toBe(
      204,
    );
  });

  it("locks an address after the server's count of failures across tenants, and unlocks it", async () => {
    const url = t.server.url;
    // The earlier tests' failures came from this address too: it starts again from none.
    await t.server.context.lockout.failures.clear('address', '127.0.0.1');
    const set = await t.call('PUT', '/api/v1/tenants/carbon.super/settings/lockout', {
      as: SUPER,
      body: { address: { maxFailures: 6, lockSeconds: 600 } },
    });
    expect(set.status).toBe(200);
    // Six different accounts in two tenants, none failing often enough to lock itself.
    const names = [
      'u1@acme.com',
      'u2@acme.com',
      'u3@acme.com',
      'u1@globex.com',
      'u2@globex.com',
      'u3@globex.com',
    ];
    for (const username of names)
      expect((await json(url, '/api/v1/authenticate', { username, password: 'x' })).status).toBe(401);
    const locked = await json(url, '/api/v1/authenticate', {
      username: 'erin@globex.com',
      password: PASSWORD,
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(590);
    // The admin API's Basic is locked there too, the super admin's included.
    expect((await t.call('GET', '/api/v1/lockouts/addresses', { as: SUPER })).status).toBe(429);

    // From another loopback address, which is not locked.
    const listed = await fromOtherAddress('GET', '/api/v1/lockouts/addresses', SUPER);
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.text)).toEqual([
      { address: '127.0.0.1', failures: 6, lockouts: 1, lockedUntil: expect.any(String) },
    ]);
    expect((await fromOtherAddress('GET', '/api/v1/lockouts/addresses', ACME)).status).toBe(403);
    expect((await fromOtherAddress('DELETE', '/api/v1/lockouts/addresses/127.0.0.1', ACME)).status).toBe(403);
    expect((await fromOtherAddress('DELETE', '/api/v1/lockouts/addresses/127.0.0.1', SUPER)).status).toBe(
      204,
    );
    expect(
      (await json(url, '/api/v1/authenticate', { username: 'erin@globex.com', password: PASSWORD })).status,
    ).toBe(200);
    const restored = await t.call('PUT', '/api/v1/tenants/carbon.super/settings/lockout', {
      as: SUPER,
      body: { address: { maxFailures: 1000 } },
    });
    expect(restored.status).toBe(200);
  });

  /** A request from 127.0.0.2 (the whole 127/8 is loopback on Linux) to the server on 127.0.0.1. */
  function fromOtherAddress(method: string, route: string, as: [string, string]) {
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(
        `${t.server.url}${route}`,
        { method, localAddress: '127.0.0.2', headers: { authorization: basicAuthorization(as) } },
        (response) => {
          let text = '';
          response.on('data', (chunk) => {
            text += String(chunk);
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('error', reject);
      request.end();
    });
  }
});

describe('login lockout counting on mysql', () => {
  let t: TestServer | undefined;
  afterAll(async () => {
    await t?.stop();
  });

  it('counts every one of many failures made at once, and a lock read back from the row holds until it passes', async () => {
    t = await startTestServer('mysql');
    await expectEveryConcurrentFailureCounted(t);

    // MariaDB hands back its BIGINT columns its own way: the lock written is read, compared and obeyed.
    const set = await t.call('PUT', '/api/v1/tenants/carbon.super/settings/lockout', {
      as: SUPER,
      body: SHORT_LOCK,
    });
    expect(set.status).toBe(200);
    const login = (password: string) =>
      json(t?.server.url ?? '', '/api/v1/authenticate', { username: 'admin', password });
    for (let attempt = 1; attempt <= 3; attempt++) expect((await login('wrong-password')).status).toBe(401);
    const locked = await login(ADMIN_PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1');
    await sleep(1_100);
    expect((await login(ADMIN_PASSWORD)).status).toBe(200);
  });
});
