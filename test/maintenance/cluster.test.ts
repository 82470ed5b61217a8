import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL } from '../cache/redis.js';
import { runCli } from '../helpers/cli.js';
import { type ClusterNode, callNode, ensureBuilt, ProcessCluster, waitFor } from '../helpers/cluster.js';
import { ADMIN_PASSWORD } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME_PASSWORD = 'acme-admin-pw';

let cluster: ProcessCluster | undefined;

beforeAll(() => {
  ensureBuilt();
});

afterEach(async () => {
  for (const node of cluster?.nodes ?? []) node.child.kill('SIGCONT');
  await cluster?.stop();
  cluster = undefined;
});

/** Nodes on one fresh PostgreSQL database, with the machine's Redis or without; the first creates the schema. */
async function startCluster(
  count: number,
  options: { redis: boolean; heartbeatSeconds?: number },
): Promise<ClusterNode[]> {
  cluster = await ProcessCluster.create('maintenance');
  const nodes = cluster;
  const homes = Array.from({ length: count }, (_, i) => {
    const home = nodes.homeFor(i + 1, options.redis ? { 'cache.redis': `"${SHARED_REDIS_URL}"` } : {});
    if (options.heartbeatSeconds !== undefined) {
      const file = path.join(home, 'conf', 'tessera.toml');
      const text = readFileSync(file, 'utf8');
      writeFileSync(
        file,
        text.replace(/^heartbeat_seconds = 1$/m, `heartbeat_seconds = ${options.heartbeatSeconds}`),
      );
    }
    return home;
  });
  const first = await nodes.start(homes[0] as string);
  const others = await Promise.all(homes.slice(1).map((home) => nodes.start(home)));
  const created = await callNode(first, 'POST', '/api/v1/tenants', {
    as: SUPER,
    body: { domain: 'acme.com', adminPassword: ACME_PASSWORD },
  });
  expect(created.status).toBe(201);
  // Without Redis, the other nodes take up the new tenant at their next periodic check.
  for (const node of others)
    await waitFor(`node ${node.port} to serve acme.com`, async () => {
      const login = await callNode(node, 'POST', '/api/v1/authenticate', {
        body: { username: 'admin@acme.com', password: ACME_PASSWORD },
      });
      return login.status === 200 ? true : undefined;
    });
  return [first, ...others];
}

const tryWrite = (node: ClusterNode) =>
  callNode(node, 'POST', '/api/v1/tenants/acme.com/users', {
    as: SUPER,
    body: { username: `u${Math.random().toString(36).slice(2, 10)}`, password: 'a-long-password-1' },
  });

/** Every node refuses a write with 503 MAINTENANCE and still logs users in, by password and by Basic. */
async function expectInMaintenance(nodes: ClusterNode[]): Promise<void> {
  for (const node of nodes) {
    const write = await tryWrite(node);
    expect(write.status, `a write on ${node.port}`).toBe(503);
    expect(write.body.error).toBe('MAINTENANCE');
    expect(write.headers.get('retry-after')).toBeTruthy();
    const login = await callNode(node, 'POST', '/api/v1/authenticate', {
      body: { username: 'admin@acme.com', password: ACME_PASSWORD },
    });
    expect(login.status, `a login on ${node.port}`).toBe(200);
    const read = await callNode(node, 'GET', '/api/v1/tenants/acme.com/users', {
      as: ['admin@acme.com', ACME_PASSWORD],
    });
    expect(read.status, `a Basic read on ${node.port}`).toBe(200);
    expect((await callNode(node, 'GET', '/readyz')).body).toMatchObject({ ready: true, maintenance: true });
  }
}

describe('maintenance mode across server processes on PostgreSQL', () => {
  it('with Redis: switched on through one node, all three refuse writes within a second and keep authenticating', async () => {
    const nodes = await startCluster(3, { redis: true });
    const [first, second] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const started = Date.now();
    const on = await callNode(first, 'PUT', '/api/v1/maintenance', {
      as: SUPER,
      body: { message: 'Upgrade under way.', retryAfterSeconds: 60, waitSeconds: 10 },
    });
    const elapsed = Date.now() - started;
    expect(on.status).toBe(200);
    expect(on.body.allAcked).toBe(true);
    expect(on.body.nodes.map((node: { port: number }) => node.port).sort()).toEqual(
      nodes.map((n) => n.port).sort(),
    );
    // Every node acknowledged, so every node refuses: told over Redis, well within a second.
    expect(elapsed).toBeLessThan(1_000);
    await expectInMaintenance(nodes);

    const off = await callNode(second, 'DELETE', '/api/v1/maintenance', { as: SUPER });
    expect(off.body).toMatchObject({ on: false });
    const offAt = Date.now();
    for (const node of nodes) {
      for (;;) {
        if ((await tryWrite(node)).status === 201) break;
        expect(Date.now() - offAt, `node ${node.port} accepting writes again`).toBeLessThan(1_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });

  it('without Redis: every node learns of the switch within one heartbeat period', async () => {
    const nodes = await startCluster(3, { redis: false });
    const started = Date.now();
    const on = await callNode(nodes[0] as ClusterNode, 'PUT', '/api/v1/maintenance', {
      as: SUPER,
      body: { waitSeconds: 10 },
    });
    const elapsed = Date.now() - started;
    expect(on.body.allAcked).toBe(true);
    // heartbeat_seconds = 1: one period, and the time to read the row and write the acknowledgement.
    expect(elapsed).toBeLessThan(1_500);
    await expectInMaintenance(nodes);
  });

  it('tessera maintenance lists each node with its acknowledgement and names one that does not answer (exit 1)', async () => {
    // Two-second heartbeats: a stopped node stays live for 6 s, longer than the command waits for it.
    const nodes = await startCluster(3, { redis: true, heartbeatSeconds: 2 });
    const [first, second, third] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const on = runCli([
      'maintenance',
      'on',
      '--home',
      second.home,
      '--message',
      'Back soon.',
      '--wait',
      '10',
    ]);
    expect(on.status, on.stderr).toBe(0);
    expect(on.stdout).toContain('maintenance: on');
    expect(on.stdout).toContain('message: Back soon.');
    expect(on.stdout).toContain('3 live node(s), 3 acknowledged');
    for (const node of nodes) expect(on.stdout).toMatch(new RegExp(`:${node.port}\\s+acked$`, 'm'));
    await expectInMaintenance(nodes);

    expect(runCli(['maintenance', 'off', '--home', first.home]).status).toBe(0);
    third.child.kill('SIGSTOP');
    const stuck = runCli(['maintenance', 'on', '--home', first.home, '--wait', '2']);
    expect(stuck.status).toBe(1);
    expect(stuck.stdout).toMatch(new RegExp(`:${third.port}\\s+not acked$`, 'm'));
    expect(stuck.stdout).toMatch(new RegExp(`:${first.port}\\s+acked$`, 'm'));
    expect(stuck.stderr).toContain(`:${third.port})`);
    expect(stuck.stderr).toContain('did not acknowledge');
    expect(stuck.stderr).toContain('stays on');
    // The mode stays on for the nodes that did acknowledge.
    expect((await tryWrite(first)).status).toBe(503);

    third.child.kill('SIGCONT');
    let status = runCli(['maintenance', 'status', '--home', third.home, '--json']);
    for (let tries = 0; JSON.parse(status.stdout).allAcked !== true && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = runCli(['maintenance', 'status', '--home', third.home, '--json']);
    }
    expect(JSON.parse(status.stdout)).toMatchObject({ allAcked: true, state: { on: true } });
    const text = runCli(['maintenance', 'status', '--home', third.home]);
    expect(text.stdout).toContain('3 live node(s), 3 acknowledged');
    const off = runCli(['maintenance', 'off', '--home', third.home]);
    expect(off.status).toBe(0);
    expect(off.stdout).toContain('maintenance: off');
  });
});
