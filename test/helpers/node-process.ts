import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ClusterNode } from '../../src/cluster/nodes.js';
import { CLI, spawnStartProcess, waitFor } from './cluster.js';

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

/**
 * Starts a node on `home` (this checkout's CLI, or `cli`: another release's), waits until it answers /healthz
 * and shows in `tessera cluster status`.
 */
export async function startNodeProcess(home: string, cli?: string): Promise<NodeProcess> {
  const { port, child, exited, untilHealthy } = await spawnStartProcess(home, cli);
  const running = () => child.exitCode === null && child.signalCode === null;
  try {
    await untilHealthy();
    const node = await waitFor(`node on port ${port} in cluster status`, async () =>
      (await clusterStatus(home, cli)).find((n) => n.port === port && n.state === 'live'),
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

/**
 * `tessera cluster status --json` of a home, by this checkout's CLI or `cli` (the release whose home it is:
 * another release's config format may be one this checkout refuses).
 */
export async function clusterStatus(home: string, cli = CLI): Promise<ClusterNode[]> {
  const { stdout } = await run(process.execPath, [cli, 'cluster', 'status', '--home', home, '--json']);
  return (JSON.parse(stdout) as { nodes: ClusterNode[] }).nodes;
}
