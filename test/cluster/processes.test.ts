import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/cluster/registry.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { ADMIN_PASSWORD, writeConfig } from '../helpers/server.js';

const run = promisify(execFile);
const CLI = path.join(PACKAGE_ROOT, 'bin', 'tessera.js');

interface Node {
  home: string;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
}

let nodes: Node[] = [];
let scratch: ScratchDatabase | undefined;

beforeAll(() => {
  if (!existsSync(path.join(PACKAGE_ROOT, 'dist', 'cli', 'cluster.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: PACKAGE_ROOT, stdio: 'ignore' });
  }
});

afterEach(async () => {
  for (const node of nodes) {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  }
  await Promise.all(nodes.map((n) => n.exited));
  nodes = [];
  await scratch?.drop();
  scratch = undefined;
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` every 100 ms until it returns a value, or fails after `ms`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function homeFor(index: number, databaseUrl: string): string {
  if (!scratch) throw new Error('no scratch database');
  const home = path.join(scratch.home, `node${index}`);
  writeConfig(home, databaseUrl);
  const file = path.join(home, 'conf', 'tessera.toml');
  const text = readFileSync(file, 'utf8');
  if (!/^heartbeat_seconds = \d+$/m.test(text))
    throw new Error('the default config has no heartbeat_seconds');
  writeFileSync(file, text.replace(/^heartbeat_seconds = \d+$/m, 'heartbeat_seconds = 1'));
  return home;
}

async function startNode(home: string): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'start', '--home', home], {
    env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const node: Node = { home, port, child, exited };
  nodes.push(node);
  await waitFor(`node on port ${port} to answer /healthz`, async () => {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    return response.ok ? true : undefined;
  });
  return node;
}

async function clusterStatus(home: string): Promise<ClusterNode[]> {
  const { stdout } = await run(process.execPath, [CLI, 'cluster', 'status', '--home', home, '--json']);
  return (JSON.parse(stdout) as { nodes: ClusterNode[] }).nodes;
}

const byPort = (list: ClusterNode[], port: number) => list.find((n) => n.port === port);

describe('three server processes on one PostgreSQL database', () => {
  it('each registers and beats; a killed one turns gone after 3 periods, a stopped one leaves', async () => {
    scratch = await scratchDatabase('postgres', 'cluster');
    const url = scratch.url;
    const homes = [homeFor(1, url), homeFor(2, url), homeFor(3, url)];
    // The first start creates the schema; the others join it.
    const first = await startNode(homes[0] as string);
    const [second, third] = await Promise.all([startNode(homes[1] as string), startNode(homes[2] as string)]);
    if (!second || !third) throw new Error('nodes did not start');

    const all = await waitFor('3 live nodes', async () => {
      const list = await clusterStatus(first.home);
      return list.length === 3 && list.every((n) => n.state === 'live') ? list : undefined;
    });
    expect(all.map((n) => n.port).sort()).toEqual([first.port, second.port, third.port].sort());
    for (const n of all) {
      expect(n.release).toBe('2.0.0');
      expect(n.nodeId).toMatch(new RegExp(`-${n.port}-[0-9a-f]{8}$`));
    }
    const { stdout: text } = await run(process.execPath, [CLI, 'cluster', 'status', '--home', second.home]);
    expect(text).toContain('3 live, 0 gone');
    expect(text).toMatch(new RegExp(`:${third.port}\\s+2\\.0\\.0\\s+\\S+\\s+\\d+ s ago\\s+live`));

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
