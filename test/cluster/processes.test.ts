import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/cluster/nodes.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { CLI, ensureBuilt, ProcessCluster, waitFor } from '../helpers/cluster.js';

const run = promisify(execFile);

let cluster: ProcessCluster | undefined;

beforeAll(() => {
  ensureBuilt();
});

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function clusterStatus(home: string): Promise<ClusterNode[]> {
  const { stdout } = await run(process.execPath, [CLI, 'cluster', 'status', '--home', home, '--json']);
  return (JSON.parse(stdout) as { nodes: ClusterNode[] }).nodes;
}

const byPort = (list: ClusterNode[], port: number) => list.find((n) => n.port === port);

describe('three server processes on one PostgreSQL database', () => {
  it('each registers and beats; a killed one turns gone after 3 periods, a stopped one leaves', async () => {
    cluster = await ProcessCluster.create();
    const nodes = cluster;
    const homes = [nodes.homeFor(1), nodes.homeFor(2), nodes.homeFor(3)];
    // The first start creates the schema; the others join it.
    const first = await nodes.start(homes[0] as string);
    const [second, third] = await Promise.all([
      nodes.start(homes[1] as string),
      nodes.start(homes[2] as string),
    ]);
    if (!second || !third) throw new Error('nodes did not start');

    const all = await waitFor('3 live nodes', async () => {
      const list = await clusterStatus(first.home);
      return list.length === 3 && list.every((n) => n.state === 'live') ? list : undefined;
    });
    expect(all.map((n) => n.port).sort()).toEqual([first.port, second.port, third.port].sort());
    for (const n of all) {
      expect(n.release).toBe(CURRENT_RELEASE);
      expect(n.nodeId).toMatch(new RegExp(`-${n.port}-[0-9a-f]{8}$`));
    }
    const { stdout: text } = await run(process.execPath, [CLI, 'cluster', 'status', '--home', second.home]);
    expect(text).toContain('3 live, 0 gone');
    expect(text).toMatch(
      new RegExp(`:${third.port}\\s+${CURRENT_RELEASE.replaceAll('.', '\\.')}\\s+\\S+\\s+\\d+ s ago\\s+live`),
    );

    // A crash leaves the row: it stays until 3 heartbeats are missed, then shows as gone.
    second.child.kill('SIGKILL');
    await second.exited;
    const afterCrash = await waitFor(
      'the killed node to be gone',
      async () => {
        const list = await clusterStatus(third.home);
        return byPort(list, second.port)?.state === 'gone' ? list : undefined;
      },
      10_000,
    );
    const crashed = byPort(afterCrash, second.port);
    expect(crashed?.secondsSinceHeartbeat).toBeGreaterThanOrEqual(3);
    expect(byPort(afterCrash, first.port)?.state).toBe('live');
    expect(byPort(afterCrash, third.port)?.state).toBe('live');

    // A clean stop deletes the node's own row.
    third.child.kill('SIGTERM');
    await waitFor('the stopped node to exit', async () => (third.child.exitCode !== null ? true : undefined));
    expect(third.child.exitCode).toBe(0);
    const afterStop = await clusterStatus(first.home);
    expect(afterStop.map((n) => [n.port, n.state]).sort()).toEqual(
      [
        [first.port, 'live'],
        [second.port, 'gone'],
      ].sort(),
    );
  });
});
