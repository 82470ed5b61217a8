import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { type ScratchDatabase, scratchDatabase } from './databases.js';
import { freePort } from './ports.js';
import { ADMIN_PASSWORD, callJson, type Reply, writeConfig } from './server.js';

export const CLI = path.join(PACKAGE_ROOT, 'bin', 'tessera.js');

/** One `tessera start` process of a test cluster. */
export interface ClusterNode {
  home: string;
  port: number;
  url: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/** Builds dist/ when it is missing: the nodes run the built CLI. */
export function ensureBuilt(): void {
  if (!existsSync(path.join(PACKAGE_ROOT, 'dist', 'cli', 'cluster.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: PACKAGE_ROOT, stdio: 'ignore' });
  }
}

/** Polls `probe` every `everyMs` until it returns a value, or fails after `ms`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A `tessera start` child process, not yet known to answer. */
export interface StartProcess {
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** Waits until it answers /healthz; fails with what it wrote to stderr when it exits first. */
  untilHealthy(): Promise<void>;
}

/**
 * Spawns `tessera start` on `home` on a free port, with the tests' admin password: this checkout's built CLI,
 * or `cli`, another release's (test/helpers/release-build.ts).
 */
export async function spawnStartProcess(home: string, cli = CLI): Promise<StartProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'start', '--home', home], {
    env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    child,
    exited,
    async untilHealthy() {
      await waitFor(`node on port ${port} to answer /healthz`, async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`exited ${child.exitCode ?? child.signalCode}: ${stderr}`);
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        return response.ok ? true : undefined;
      });
    },
  };
}

/**
 * Server processes, each on a home of its own, all on one scratch PostgreSQL database: a cluster as an
 * operator runs one. `stop` kills what is left and drops the database.
 */
export class ProcessCluster {
  readonly nodes: ClusterNode[] = [];
  private readonly secretsKey = randomBytes(32).toString('base64');

  private constructor(readonly scratch: ScratchDatabase) {}

  static async create(label = 'cluster'): Promise<ProcessCluster> {
    return new ProcessCluster(await scratchDatabase('postgres', label));
  }

  /** Writes node `index`'s home: heartbeats every second, and `settings` (`section.key` → TOML value). */
  homeFor(index: number, settings: Record<string, string> = {}): string {
    const home = path.join(this.scratch.home, `node${index}`);
    writeConfig(home, this.scratch.url);
    // One conf/secrets.key for every node, as the README asks operators (TOTP and OpenID Connect keys are
    // sealed with it in the shared database).
    writeFileSync(path.join(home, 'conf', 'secrets.key'), `${this.secretsKey}\n`, { mode: 0o600 });
    const file = path.join(home, 'conf', 'tessera.toml');
    let text = readFileSync(file, 'utf8');
    if (!/^heartbeat_seconds = \d+$/m.test(text))
      throw new Error('the default config has no heartbeat_seconds');
    text = text.replace(/^heartbeat_seconds = \d+$/m, 'heartbeat_seconds = 1');
    for (const [key, value] of Object.entries(settings)) {
      const [section, name] = key.split('.') as [string, string];
      const header = `[${section}]\n`;
      // A section the default config leaves out (userstores) is added at the end.
      if (!text.includes(header)) text = `${text}\n${header}`;
      text = text.replace(header, `${header}${name} = ${value}\n`);
    }
    writeFileSync(file, text);
    return home;
  }

  /** Starts a node on `home` and waits until it answers /healthz. */
  async start(home: string): Promise<ClusterNode> {
    const { port, child, exited, untilHealthy } = await spawnStartProcess(home);
    const node: ClusterNode = { home, port, url: `http://127.0.0.1:${port}`, child, exited };
    // Listed before the wait, so that stop() kills a node that never became healthy.
    this.nodes.push(node);
    await untilHealthy();
    return node;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    }
    await Promise.all(this.nodes.map((n) => n.exited));
    await this.scratch.drop();
  }
}

/** One JSON call to a node's API, as `as` (name and password) when given. */
export function callNode(
  node: ClusterNode,
  method: string,
  route: string,
  options: { as?: [string, string]; body?: unknown } = {},
): Promise<Reply> {
  return callJson(node.url, method, route, options);
}
