import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { ClusterNode } from '../../src/cluster/registry.js';
import { CLI, waitFor } from './cluster.js';
import { freePort } from './ports.js';
import { ADMIN_PASSWORD } from './server.js';

const run = promisify(execFile);

/** One `tessera start` process on a home, as an operator runs it (the built CLI: run `npm run build`). */
export interface NodeProcess {
  home: string;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** Its row in `cluster status`: its cluster id, host and port. */
  node: ClusterNode;
  /** SIGTERM, as an operator stops a node; resolves once it exited. */
  stop(): Promise<void>;
  /** kill -9: no clean stop, its row and lock file stay behind. */
  kill(): Promise<void>;
}

/** Starts a node on `home`, waits until it answers /healthz and shows in `tessera cluster status`. */
export async function startNodeProcess(home: string): Promise<NodeProcess> {
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
  const running = () => child.exitCode === null && child.signalCode === null;
  try {
    await waitFor(`node on port ${port} to answer /healthz`, async () => {
      if (!running()) throw new Error(`exited ${child.exitCode}: ${stderr}`);
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return response.ok ? true : undefined;
    });
    const node = await waitFor(`node on port ${port} in cluster status`, async () =>
      (await clusterStatus(home)).find((n) => n.port === port && n.state === 'live'),
    );
    return {
      home,
      port,
      child,
      exited,
      node,
      async stop() {
        if (running()) child.kill('SIGTERM');
        await exited;
      },
      async kill() {
        if (running()) child.kill('SIGKILL');
        await exited;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
}

/** `tessera cluster status --json` of a home. */
export async function clusterStatus(home: string): Promise<ClusterNode[]> {
  const { stdout } = await run(process.execPath, [CLI, 'cluster', 'status', '--home', home, '--json']);
  return (JSON.parse(stdout) as { nodes: ClusterNode[] }).nodes;
}
