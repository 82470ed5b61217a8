import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { ensureBuilt, ProcessCluster, waitFor } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { ADMIN_PASSWORD, callJson } from '../helpers/server.js';

const CONFIG = path.join(PACKAGE_ROOT, 'deploy', 'haproxy.cfg');
const HAPROXY = '/usr/sbin/haproxy';

async function login(url: string): Promise<number> {
  const reply = await callJson(url, 'POST', '/api/v1/authenticate', {
    body: { username: 'admin', password: ADMIN_PASSWORD },
  });
  return reply.status;
}

/** Successful password checks a node counted (its own /metrics, not through HAProxy). */
async function loginsServedBy(nodeUrl: string): Promise<number> {
  const metrics = await (await fetch(`${nodeUrl}/metrics`)).text();
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith('tessera_authentications_total{outcome="success"}'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

/** `haproxy -f deploy/haproxy.cfg` in the foreground, told the nodes as an operator would: by environment. */
function startHaproxy(bind: string, nodes: string[]): { child: ChildProcess; exited: Promise<void> } {
  const env: Record<string, string> = { ...process.env, TESSERA_LB_BIND: bind } as Record<string, string>;
  nodes.forEach((node, index) => {
    env[`TESSERA_NODE_${index + 1}`] = node;
  });
  const child = spawn(HAPROXY, ['-db', '-f', CONFIG], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited };
}

describe('deploy/haproxy.cfg in front of two nodes on one PostgreSQL database', () => {
  const cleanups = cleanupsAfterEach();

  it('spreads logins over the nodes, loses none when one is killed, and answers 503 when none is left', async () => {
    ensureBuilt();
    const cluster = await ProcessCluster.create('haproxy');
    cleanups.add(() => cluster.stop());
    const first = await cluster.start(cluster.homeFor(0));
    const second = await cluster.start(cluster.homeFor(1));
    const port = await freePort();
    const lb = startHaproxy(`127.0.0.1:${port}`, [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`]);
    cleanups.add(async () => {
      lb.child.kill('SIGKILL');
      await lb.exited;
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor('HAProxy to answer through a node', async () =>
      (await fetch(`${url}/readyz`).catch(() => undefined))?.ok ? true : undefined,
    );

    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push(await login(url));
    expect(statuses).toEqual(Array(20).fill(200));
    const [byFirst, bySecond] = [await loginsServedBy(first.url), await loginsServedBy(second.url)];
    expect(byFirst + bySecond).toBe(20);
    expect(Math.min(byFirst, bySecond)).toBeGreaterThanOrEqual(5);

    // kill -9: the node's port refuses at once; HAProxy sends what it refuses to the other node.
    first.child.kill('SIGKILL');
    await first.exited;
    const afterKill = [];
    for (let i = 0; i < 20; i++) afterKill.push(await login(url));
    expect(afterKill).toEqual(Array(20).fill(200));

    second.child.kill('SIGKILL');
    await second.exited;
    await waitFor('HAProxy to find no node left', async () =>
      (await fetch(`${url}/readyz`)).status === 503 ? true : undefined,
    );
    expect(await login(url)).toBe(503);
  });
});
