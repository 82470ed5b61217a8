import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeyPrefix } from '../../src/cache/cluster-cache.js';
import { redactDatabaseUrl } from '../../src/db/url.js';
import { deleteKeys, PrivateRedis, SHARED_REDIS_URL } from '../cache/redis.js';
import { type ClusterNode, callNode, ensureBuilt, ProcessCluster, waitFor } from '../helpers/cluster.js';
import { scratchDatabase } from '../helpers/databases.js';
import { ADMIN_PASSWORD } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const TENANT = 'acme.test';
const TENANT_PASSWORD = 'acme-admin-password-1';
const TENANT_ADMIN: [string, string] = [`admin@${TENANT}`, TENANT_PASSWORD];

let cluster: ProcessCluster | undefined;
let redis: PrivateRedis | undefined;
const prefixes: string[] = [];

beforeAll(() => {
  ensureBuilt();
});

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await redis?.kill();
  redis = undefined;
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(SHARED_REDIS_URL, prefix);
});

/** Nodes on one fresh PostgreSQL database with `cache.redis` set; the first creates the schema. */
async function startCluster(redisUrl: string, count: number): Promise<ClusterNode[]> {
  const nodes = await ProcessCluster.create('cache');
  cluster = nodes;
  prefixes.push(clusterKeyPrefix(redactDatabaseUrl(nodes.scratch.url)));
  const homes = Array.from({ length: count }, (_, i) =>
    // The tenant admin adds a store on the test PostgreSQL server, which the operator must allow.
    nodes.homeFor(i + 1, { 'cache.redis': `"${redisUrl}"`, 'userstores.allowed_hosts': '["127.0.0.1"]' }),
  );
  const first = await nodes.start(homes[0] as string);
  const others = await Promise.all(homes.slice(1).map((home) => nodes.start(home)));
  return [first, ...others];
}

async function rolesOf(node: ClusterNode, user: string): Promise<string[]> {
  const reply = await callNode(node, 'GET', `/api/v1/tenants/${TENANT}/users/${user}`, { as: TENANT_ADMIN });
  if (reply.status !== 200) throw new Error(`GET ${user}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.roles;
}

async function setRoles(node: ClusterNode, user: string, roles: string[]): Promise<void> {
  const reply = await callNode(node, 'PUT', `/api/v1/tenants/${TENANT}/users/${user}/roles`, {
    as: TENANT_ADMIN,
    body: { roles },
  });
  if (reply.status !== 200) throw new Error(`PUT roles: ${reply.status} ${JSON.stringify(reply.body)}`);
}

/** Milliseconds until `node` answers `expected` for the user's roles (polled every 10 ms). */
async function timeUntilRoles(node: ClusterNode, user: string, expected: string[]): Promise<number> {
  const started = performance.now();
  await waitFor(
    `${node.url} to show ${user} with ${expected.join(',')}`,
    async () => ((await rolesOf(node, user)).join(',') === expected.join(',') ? true : undefined),
    5_000,
    10,
  );
  return performance.now() - started;
}

/** A tenant (created on `on`, known to `also` once they have heard of it) with user `ann` and two roles. */
async function seedTenant(on: ClusterNode, also: ClusterNode[]): Promise<void> {
  const tenant = await callNode(on, 'POST', '/api/v1/tenants', {
    as: SUPER,
    body: { domain: TENANT, adminPassword: TENANT_PASSWORD },
  });
  expect(tenant.status).toBe(201);
  for (const role of ['staff', 'auditors']) {
    const reply = await callNode(on, 'POST', `/api/v1/tenants/${TENANT}/roles`, {
      as: TENANT_ADMIN,
      body: { name: role },
    });
    expect(reply.status).toBe(201);
  }
  const ann = await callNode(on, 'POST', `/api/v1/tenants/${TENANT}/users`, {
    as: TENANT_ADMIN,
    body: { username: 'ann', password: 'ann-password-1', roles: ['staff'] },
  });
  expect(ann.status).toBe(201);
  for (const node of also) {
    await waitFor(`${node.url} to serve ${TENANT}`, async () =>
      (await rolesOf(node, 'ann')).length ? true : undefined,
    );
  }
}

/** The cluster's value keys in Redis ending with `suffix`. */
async function cachedKeys(url: string, suffix: string): Promise<string[]> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await client.keys(`${prefixes.at(-1)}v:*|${suffix}`);
  } finally {
    client.disconnect();
  }
}

async function cacheUsable(node: ClusterNode): Promise<number | undefined> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const match = /^tessera_cache_usable (\d)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('the shared cache across three server processes on one PostgreSQL database', () => {
  it('a role change on A is seen by B within a second; a store created on A is listed and usable on B and C', async () => {
    const [a, b, c] = (await startCluster(SHARED_REDIS_URL, 3)) as [ClusterNode, ClusterNode, ClusterNode];
    await seedTenant(a, [b, c]);

    // B reads ann, and the entry is in Redis; then A changes her roles.
    expect(await rolesOf(b, 'ann')).toEqual(['staff']);
    expect(await cachedKeys(SHARED_REDIS_URL, 'user:ann')).toHaveLength(1);
    expect(await rolesOf(b, 'ann')).toEqual(['staff']);
    await setRoles(a, 'ann', ['auditors', 'staff']);
    const elapsed = await timeUntilRoles(b, 'ann', ['auditors', 'staff']);
    process.stdout.write(`role change on A seen by B after ${elapsed.toFixed(1)} ms\n`);
    expect(elapsed).toBeLessThan(1_000);
    // Read again under the new generation: a second entry, the first never to be read again.
    expect(await cachedKeys(SHARED_REDIS_URL, 'user:ann')).toHaveLength(2);
    const login = await callNode(c, 'POST', '/api/v1/authenticate', {
      body: { username: `ann@${TENANT}`, password: 'ann-password-1' },
    });
    expect(login.status).toBe(200);
    expect([...login.body.roles].sort()).toEqual(['auditors', 'staff']);

    const storeDatabase = await scratchDatabase('postgres', 'cachestore');
    try {
      const created = await callNode(a, 'POST', `/api/v1/tenants/${TENANT}/userstores`, {
        as: TENANT_ADMIN,
        body: { domain: 'PARTNERS', type: 'jdbc', url: storeDatabase.url, readOnly: false },
      });
      expect(created.status).toBe(201);
      const started = performance.now();
      const listed = await waitFor('B to list PARTNERS', async () => {
        const reply = await callNode(b, 'GET', `/api/v1/tenants/${TENANT}/userstores`, { as: TENANT_ADMIN });
        const stores = reply.body.userstores as { domain: string; status: string }[];
        return stores.find((s) => s.domain === 'PARTNERS' && s.status === 'up');
      });
      expect(listed).toMatchObject({ type: 'jdbc', readOnly: false });
      // Told over the bus, not found at the 5 s rescan.
      expect(performance.now() - started).toBeLessThan(2_000);
      const pat = await callNode(b, 'POST', `/api/v1/tenants/${TENANT}/users`, {
        as: TENANT_ADMIN,
        body: { username: 'PARTNERS/pat', password: 'pat-password-1' },
      });
      expect(pat.status).toBe(201);
      const patLogin = await waitFor('C to log pat in', async () => {
        const reply = await callNode(c, 'POST', '/api/v1/authenticate', {
          body: { username: `PARTNERS/pat@${TENANT}`, password: 'pat-password-1' },
        });
        return reply.status === 200 ? reply : undefined;
      });
      expect(patLogin.body).toMatchObject({ tenant: TENANT, user: 'PARTNERS/pat', store: 'PARTNERS' });

      const removed = await callNode(c, 'DELETE', `/api/v1/tenants/${TENANT}/userstores/PARTNERS`, {
        as: TENANT_ADMIN,
      });
      expect(removed.status).toBe(204);
      await waitFor('A to drop PARTNERS', async () => {
        const reply = await callNode(a, 'GET', `/api/v1/tenants/${TENANT}/userstores`, { as: TENANT_ADMIN });
        return (reply.body.userstores as { domain: string }[]).some((s) => s.domain === 'PARTNERS')
          ? undefined
          : true;
      });
    } finally {
      await cluster?.stop();
      cluster = undefined;
      await storeDatabase.drop();
    }
  });

  it('with Redis down, nodes answer from the database, correctly (a lockout included); when it is back they use it again', async () => {
    redis = await PrivateRedis.start();
    const [a, b] = (await startCluster(redis.url, 2)) as [ClusterNode, ClusterNode];
    expect(await cacheUsable(b)).toBe(1);
    await seedTenant(a, [b]);
    expect(await rolesOf(b, 'ann')).toEqual(['staff']);
    expect(await cachedKeys(redis.url, 'user:ann')).toHaveLength(1);

    await redis.kill();
    await waitFor('both nodes to notice', async () =>
      (await cacheUsable(a)) === 0 && (await cacheUsable(b)) === 0 ? true : undefined,
    );
    await setRoles(a, 'ann', ['auditors']);
    // No stale answer: B reads the database at once.
    expect(await rolesOf(b, 'ann')).toEqual(['auditors']);
    const ready = await fetch(`${b.url}/readyz`);
    expect(ready.status).toBe(200);
    // The login lockout never needed Redis: failures on A lock the account on B with Redis down.
    const lockout = await callNode(a, 'PUT', `/api/v1/tenants/${TENANT}/settings/lockout`, {
      as: TENANT_ADMIN,
      body: { account: { maxFailures: 2, lockSeconds: 600 } },
    });
    expect(lockout.status).toBe(200);
    const login = (node: ClusterNode, password: string) =>
      callNode(node, 'POST', '/api/v1/authenticate', { body: { username: `ann@${TENANT}`, password } });
    expect((await login(a, 'wrong')).status).toBe(401);
    expect((await login(a, 'wrong')).status).toBe(401);
    const locked = await login(b, 'ann-password-1');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(590);
    expect(
      (await callNode(b, 'DELETE', `/api/v1/tenants/${TENANT}/lockouts/ann`, { as: TENANT_ADMIN })).status,
    ).toBe(204);
    expect((await login(a, 'ann-password-1')).status).toBe(200);

    await redis.start();
    await waitFor(
      'both nodes to use Redis again',
      async () => ((await cacheUsable(a)) === 1 && (await cacheUsable(b)) === 1 ? true : undefined),
      10_000,
    );
    expect(await rolesOf(b, 'ann')).toEqual(['auditors']);
    await setRoles(a, 'ann', ['staff']);
    expect(await timeUntilRoles(b, 'ann', ['staff'])).toBeLessThan(1_000);
  });
});
