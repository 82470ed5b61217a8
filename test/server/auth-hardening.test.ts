import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { ARGON2_OPTIONS, legacySha256 } from '../../src/userstores/passwords.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { freePort } from '../helpers/ports.js';
import { ADMIN_PASSWORD, basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { ALLOW_LOCAL_STORE_HOSTS, createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const ALICE_PASSWORD = 'alice-right-pw';
const BOB_PASSWORD = 'bob-partner-pw';
/** `café-naïve-pw` with precomposed letters, and the same text with combining accents (as macOS types it). */
const NFC_PASSWORD = 'caf\u00e9-na\u00efve-pw';
const NFD_PASSWORD = NFC_PASSWORD.normalize('NFD');

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

type LoginPath = (url: string, name: string, password: string) => Promise<Response>;

/** The ways to log in with a password, each answering 401 to a wrong one. */
const LOGIN_PATHS: Record<string, LoginPath> = {
  'POST /authenticate': (url, username, password) =>
    fetch(`${url}/api/v1/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    }),
  'HTTP Basic on the admin API': (url, name, password) =>
    fetch(`${url}/api/v1/tenants`, { headers: { authorization: basicAuthorization([name, password]) } }),
  // An app of acme.com that asks for a login: names are typed inside the tenant, so `@acme.com` is dropped
  // and any other tenant's name is refused there.
  "an app's login": (url, name, password) =>
    fetch(`${url}/t/acme.com/members/`, {
      headers: { authorization: basicAuthorization([name.replace(/@acme\.com$/, ''), password]) },
    }),
  'POST /sessions': (url, username, password) =>
    fetch(`${url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    }),
};

/** Failed logins of every kind; `real user` (a wrong password for an existing PRIMARY user) is the yardstick. */
const FAILED_LOGINS: Record<string, string> = {
  'real user': 'alice@acme.com',
  'real JDBC user': 'PARTNERS/bob@acme.com',
  'unknown tenant': 'alice@nowhere.example',
  'inactive tenant': 'admin@dormant.com',
  'unknown store': 'NOSUCH/alice@acme.com',
  'store that is down': 'DOWN/alice@acme.com',
  'unknown user': 'nobody@acme.com',
  'unknown JDBC user': 'PARTNERS/nobody@acme.com',
  'malformed name': 'bad name@acme.com',
};

describe.each(DATABASE_KINDS)('authentication hardening on %s', (kind) => {
  let t: TestServer;
  let partners: ScratchDatabase | undefined;
  let partnersUrl: string;

  beforeAll(async () => {
    // The tenant admin adds a store on the machine's database server, which must be allowed (none is by default).
    t = await startTestServer(kind, ALLOW_LOCAL_STORE_HOSTS);
    await createTenant(t, 'acme.com', ACME[1]);
    await createTenant(t, 'dormant.com', 'dormant-admin-pw');
    expect(
      (await t.call('PATCH', '/api/v1/tenants/dormant.com', { as: SUPER, body: { active: false } })).status,
    ).toBe(200);
    expect(
      (
        await t.call('POST', '/api/v1/tenants/acme.com/users', {
          as: ACME,
          body: { username: 'alice', password: ALICE_PASSWORD },
        })
      ).status,
    ).toBe(201);
    partners = kind === 'sqlite' ? undefined : await scratchDatabase(kind, 'partners');
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id;
    partnersUrl = partners?.url ?? `sqlite:repository/tenants/${acmeId}/acme-partners.db`;
    const store = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: { domain: 'PARTNERS', type: 'jdbc', url: partnersUrl, readOnly: false },
    });
    expect(store.status).toBe(201);
    expect(
      (
        await t.call('POST', '/api/v1/tenants/acme.com/users', {
          as: ACME,
          body: { username: 'PARTNERS/bob', password: BOB_PASSWORD },
        })
      ).status,
    ).toBe(201);
    // A store whose database refuses connections: defined, but not loaded.
    const closedPort = await freePort();
    writeFileSync(
      path.join(t.home, 'repository', 'tenants', String(acmeId), 'userstores', 'DOWN.toml'),
      `domain = "DOWN"\ntype = "jdbc"\nurl = "postgres://postgres@127.0.0.1:${closedPort}/nothing"\n`,
    );
    await t.server.context.stores.rescan(acmeId);
    const down = t.server.context.stores.describe(acmeId).find((store) => store.domain === 'DOWN');
    expect(down?.status).toBe('error');
    const members = path.join(t.home, 'repository', 'tenants', String(acmeId), 'webapps', 'members');
    mkdirSync(members, { recursive: true });
    writeFileSync(path.join(members, 'index.html'), 'members only');
    writeFileSync(path.join(members, 'tessera-app.toml'), 'login = true\n');
    await t.server.context.deployer.rescan();
    const member = await fetch(`${t.server.url}/t/acme.com/members/`, {
      headers: { authorization: basicAuthorization(['alice', ALICE_PASSWORD]) },
    });
    expect(await member.text()).toBe('members only');
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await partners?.drop();
  });

  /** Each kind's median time in ms over interleaved rounds of failed logins on one path. */
  async function failedLoginMedians(login: LoginPath, rounds: number): Promise<Record<string, number>> {
    const times = new Map<string, number[]>(Object.keys(FAILED_LOGINS).map((what) => [what, []]));
    // Round 0 warms up (connections, JIT, the dummy hash) and is not counted; attempts are interleaved in
    // a new order each round, so that a burst of load on the machine hits every kind alike.
    for (let round = 0; round <= rounds; round++) {
      // Each round fails once per name, nine times from this address: without forgetting them, the lockout
      // (login-lockout.test.ts) would refuse the later rounds with 429 before any hash is checked.
      await t.server.context.database.db.deleteFrom('login_failures').execute();
      for (const [what, name] of shuffled(Object.entries(FAILED_LOGINS))) {
        const started = performance.now();
        const response = await login(t.server.url, name, 'wrong-password');
        await response.arrayBuffer();
        const elapsed = performance.now() - started;
        expect(response.status, what).toBe(401);
        if (round > 0) times.get(what)?.push(elapsed);
      }
    }
    return Object.fromEntries([...times].map(([what, values]) => [what, median(values)]));
  }

  it('spends the same time on every failed login, whatever part was wrong, on every login path', async () => {
    for (const [pathName, login] of Object.entries(LOGIN_PATHS)) {
      let medians: Record<string, number> = {};
      let tooFast: string[] = [];
      // On a loaded machine a burst can skew one measurement; a real difference (an argon2 verification
      // skipped) shows on every try, noise hardly on three in a row.
      for (let attempt = 0; attempt < 3; attempt++) {
        medians = await failedLoginMedians(login, 15);
        const yardstick = medians['real user'] ?? Number.NaN;
        tooFast = Object.keys(medians).filter((what) => (medians[what] ?? 0) < 0.5 * yardstick);
        if (tooFast.length === 0) break;
      }
      const rounded = Object.fromEntries(Object.entries(medians).map(([what, ms]) => [what, ms.toFixed(1)]));
      expect(tooFast, `${pathName}: medians in ms ${JSON.stringify(rounded)}`).toEqual([]);
    }
  }, 300_000);

  it('refuses a tenant admin name that breaks the user name rule, creating nothing', async () => {
    for (const adminUsername of ['bad name/../x@e.com', 'SECONDARY/boss', 'boss@acme.com', 'a b', '../x']) {
      const refused = await t.call('POST', '/api/v1/tenants', {
        as: SUPER,
        body: { domain: 'oddname.com', adminPassword: 'oddname-admin-pw', adminUsername },
      });
      expect(refused.status, adminUsername).toBe(400);
      expect(refused.body.error).toBe('BAD_REQUEST');
      expect(refused.body.message).toContain('use letters, digits and . _ - + only');
      expect((await t.call('GET', '/api/v1/tenants/oddname.com', { as: SUPER })).status).toBe(404);
    }
    const created = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'oddname.com', adminPassword: 'oddname-admin-pw', adminUsername: 'chief.admin' },
    });
    expect(created.status).toBe(201);
    expect(created.body.adminUsername).toBe('chief.admin');
    const login = await t.call('POST', '/api/v1/authenticate', {
      body: { username: 'chief.admin@oddname.com', password: 'oddname-admin-pw' },
    });
    expect(login.status).toBe(200);
    expect((await t.call('DELETE', '/api/v1/tenants/oddname.com', { as: SUPER })).status).toBe(204);
  });

  it('marks every admin API answer no-store and every answer of the server nosniff', async () => {
    const session = await fetch(`${t.server.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ACME[0], password: ACME[1] }),
    });
    expect(session.status).toBe(201);
    const answers: [string, Response][] = [
      ['session token', session],
      [
        '200',
        await fetch(`${t.server.url}/api/v1/tenants`, {
          headers: { authorization: basicAuthorization(ACME) },
        }),
      ],
      ['401', await fetch(`${t.server.url}/api/v1/tenants`)],
      [
        '403',
        await fetch(`${t.server.url}/api/v1/tenants/acme.com`, {
          headers: { authorization: basicAuthorization(['alice@acme.com', ALICE_PASSWORD]) },
        }),
      ],
      ['404 route', await fetch(`${t.server.url}/api/v1/no/such/route`)],
      [
        '400',
        await fetch(`${t.server.url}/api/v1/authenticate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username": 1',
        }),
      ],
      [
        'expired bearer',
        await fetch(`${t.server.url}/api/v1/tenants`, { headers: { authorization: 'Bearer nope' } }),
      ],
    ];
    for (const [what, response] of answers) {
      expect(response.headers.get('cache-control'), what).toBe('no-store');
      expect(response.headers.get('x-content-type-options'), what).toBe('nosniff');
    }
    const folder = path.join(t.home, 'repository', 'deployment', 'server', 'webapps', 'members');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'index.html'), 'members only');
    writeFileSync(path.join(folder, 'tessera-app.toml'), 'login = true\n');
    await t.server.context.deployer.rescan();
    for (const url of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/openapi.json',
      '/console/',
      '/members/',
      '/nothing-here',
    ]) {
      const response = await fetch(`${t.server.url}${url}`);
      await response.arrayBuffer();
      expect(response.headers.get('x-content-type-options'), url).toBe('nosniff');
    }
    const member = await fetch(`${t.server.url}/members/`, {
      headers: { authorization: basicAuthorization(SUPER) },
    });
    expect(await member.text()).toBe('members only');
    expect(member.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('accepts only one strict base64 token as HTTP Basic credentials, on the admin API and on apps', async () => {
    // 28 bytes: the token ends with `==` padding.
    const token = Buffer.from(ACME.join(':')).toString('base64');
    const tenants = (authorization: string) =>
      fetch(`${t.server.url}/api/v1/tenants`, { headers: { authorization } });
    expect((await tenants(`Basic ${token}`)).status).toBe(200);
    expect(token.endsWith('==')).toBe(true);
    for (const junk of [
      `Basic ${token}garbage`,
      `Basic ${token} garbage`,
      `Basic ${token} ${token}`,
      `Basic ${token.slice(0, 8)} ${token.slice(8)}`,
      `Basic ${token.replace(/=+$/, '')}`,
      `Basic ${token}=`,
      `Basic ${token.slice(0, 4)}*${token.slice(4)}`,
      `Basic\t${token}`,
      `XBasic ${token}`,
    ]) {
      const response = await tenants(junk);
      expect(response.status, junk).toBe(401);
    }
    // The scheme's name is case-insensitive (RFC 7617), and more than one space may follow it.
    expect((await tenants(`basic ${token}`)).status).toBe(200);
    expect((await tenants(`Basic  ${token}`)).status).toBe(200);
    const folder = path.join(t.home, 'repository', 'deployment', 'server', 'webapps', 'strict');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'index.html'), 'strict');
    writeFileSync(path.join(folder, 'tessera-app.toml'), 'login = true\n');
    await t.server.context.deployer.rescan();
    const app = (authorization: string) => fetch(`${t.server.url}/strict/`, { headers: { authorization } });
    // A super tenant app: its users are the super tenant's.
    expect((await app(basicAuthorization(SUPER))).status).toBe(200);
    expect((await app(`${basicAuthorization(SUPER)}garbage`)).status).toBe(401);
    expect((await app(`${basicAuthorization(SUPER)} ${token}`)).status).toBe(401);
  });

  it('matches an NFD password with its NFC twin in PRIMARY and in a JDBC store', async () => {
    for (const username of ['nfc-primary', 'PARTNERS/nfc-jdbc']) {
      const created = await t.call('POST', '/api/v1/tenants/acme.com/users', {
        as: ACME,
        body: { username, password: NFD_PASSWORD },
      });
      expect(created.status).toBe(201);
      for (const password of [NFC_PASSWORD, NFD_PASSWORD]) {
        const login = await t.call('POST', '/api/v1/authenticate', {
          body: { username: `${username}@acme.com`, password },
        });
        expect(login.status, `${username} with ${password === NFC_PASSWORD ? 'NFC' : 'NFD'}`).toBe(200);
      }
      expect(
        (
          await t.call('POST', '/api/v1/authenticate', {
            body: { username: `${username}@acme.com`, password: 'cafe-naive-pw' },
          })
        ).status,
      ).toBe(401);
    }
  });

  it('still accepts a hash made from an NFD password before normalising, and re-hashes it from NFC', async () => {
    const acmeId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: ACME })).body.id as number;
    const partnersDb = await openDatabase(partnersUrl, t.home);
    try {
      const databases: [string, Database['db']][] = [
        ['', t.server.context.database.db],
        ['PARTNERS/', partnersDb.db],
      ];
      for (const [prefix, db] of databases) {
        const salt = '00112233445566778899aabbccddeeff';
        const rows = [
          {
            username: 'old-argon',
            hash: await hash(NFD_PASSWORD, ARGON2_OPTIONS),
            salt: '',
            algorithm: 'argon2id',
          },
          { username: 'old-sha', hash: legacySha256(NFD_PASSWORD, salt), salt, algorithm: 'sha256' },
        ];
        for (const row of rows) {
          await db
            .insertInto('users')
            .values({
              tenant_id: acmeId,
              username: row.username,
              password_hash: row.hash,
              password_salt: row.salt,
              password_algorithm: row.algorithm,
              is_system: 0,
              created_at: 1,
            })
            .execute();
          const name = `${prefix}${row.username}@acme.com`;
          const login = (password: string) =>
            t.call('POST', '/api/v1/authenticate', { body: { username: name, password } });
          // The hash holds the NFD bytes: typing NFC cannot match it yet.
          expect((await login(NFC_PASSWORD)).status, name).toBe(401);
          expect((await login(NFD_PASSWORD)).status, name).toBe(200);
          const after = await db
            .selectFrom('users')
            .select(['password_hash', 'password_algorithm', 'password_salt'])
            .where('tenant_id', '=', acmeId)
            .where('username', '=', row.username)
            .executeTakeFirstOrThrow();
          expect(after.password_algorithm).toBe('argon2id');
          expect(after.password_salt).toBe('');
          expect(after.password_hash).not.toBe(row.hash);
          // Stored again from the NFC form: both forms now match.
          expect((await login(NFC_PASSWORD)).status, name).toBe(200);
          expect((await login(NFD_PASSWORD)).status, name).toBe(200);
        }
      }
    } finally {
      await partnersDb.close();
    }
  });
});
