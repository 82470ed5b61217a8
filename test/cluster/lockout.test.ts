import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callNode, ensureBuilt, ProcessCluster, waitFor } from '../helpers/cluster.js';
import { ADMIN_PASSWORD } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

let cluster: ProcessCluster | undefined;

beforeAll(() => {
  ensureBuilt();
});

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('login lockout on two server processes on one PostgreSQL database, without Redis', () => {
  it('counts failures on both nodes as one, and a lock made on one holds on the other until unlocked', async () => {
    cluster = await ProcessCluster.create('lockout');
    const a = await cluster.start(cluster.homeFor(1));
    const b = await cluster.start(cluster.homeFor(2));
    expect(
      (
        await callNode(a, 'POST', '/api/v1/tenants', {
          as: SUPER,
          body: { domain: 'acme.com', adminPassword: ACME[1] },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await callNode(a, 'POST', '/api/v1/tenants/acme.com/users', {
          as: ACME,
          body: { username: 'alice', password: 'alice-secret-pw' },
        })
      ).status,
    ).toBe(201);
    // B loads the new tenant's stores when its follower sees the tenant (no Redis: at its next period);
    // asked as the super admin, so that no failure is counted against the accounts below.
    await waitFor('B to serve acme.com', async () => {
      const alice = await callNode(b, 'GET', '/api/v1/tenants/acme.com/users/alice', { as: SUPER });
      return alice.status === 200 ? true : undefined;
    });
    // Set on A, read by B at its next login: no cache stands between them.
    const set = await callNode(a, 'PUT', '/api/v1/tenants/acme.com/settings/lockout', {
      as: ACME,
      body: { account: { maxFailures: 3, lockSeconds: 600 } },
    });
    expect(set.status).toBe(200);

    const login = (node: typeof a, password: string) =>
      callNode(node, 'POST', '/api/v1/authenticate', { body: { username: 'alice@acme.com', password } });
    expect((await login(a, 'wrong')).status).toBe(401);
    expect((await login(b, 'wrong')).status).toBe(401);
    // The third failure, on A, locks the account for both.
    expect((await login(a, 'wrong')).status).toBe(401);
    const onB = await login(b, 'alice-secret-pw');
    expect(onB.status).toBe(429);
    expect(onB.body.error).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(onB.headers.get('retry-after'))).toBeGreaterThan(590);
    expect((await login(a, 'alice-secret-pw')).status).toBe(429);

    const listed = await callNode(b, 'GET', '/api/v1/tenants/acme.com/lockouts', { as: ACME });
    expect(listed.body).toEqual([
      { name: 'alice', failures: 3, lockouts: 1, lockedUntil: expect.any(String) },
    ]);
    // Unlocked on B: A lets the right password in at once.
    expect(
      (await callNode(b, 'DELETE', '/api/v1/tenants/acme.com/lockouts/alice', { as: ACME })).status,
    ).toBe(204);
    expect((await login(a, 'alice-secret-pw')).status).toBe(200);
  }, 120_000);
});
