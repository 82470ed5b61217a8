import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { HomeLayout } from './layout.js';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from './private-modes.js';

/**
 * Every running node holds a lock in its home, so that another process (`tessera export`, `import`, the
 * upgrade's preflight) can tell that a node runs on it, whatever the database engine.
 *
 * The lock must be one the kernel drops when the process dies, even by `kill -9`, so that a crashed node is
 * never taken for a live one. Node 20 exposes no `flock`/`fcntl` (and we add no native addon), but SQLite,
 * through better-sqlite3 which Tessera already uses, takes POSIX advisory locks (`fcntl`) on its files: a
 * node opens its own small lock file as a SQLite database and holds `BEGIN EXCLUSIVE` on it for its whole
 * life. Another process (or another connection in the same process: SQLite tracks locks per file there) that
 * tries `BEGIN EXCLUSIVE` with no busy timeout gets SQLITE_BUSY at once while the node lives, and the lock
 * the moment it dies. Measured on Node 20.20 / Linux: a probe takes 2-7 ms from another process; after
 * `kill -9` of the holder the next probe finds the lock free. The file never holds data.
 *
 * Each node has its own file (`run/nodes/<pid>-<random>.lock`), so nodes never wait on one another, and an
 * identity file beside it (`.json`: node id, host, port, pid) names the node in refusals. The identity is
 * only believed while the lock is held.
 */
const LOCKS_FOLDER = path.join('run', 'nodes');
const LOCK_SUFFIX = '.lock';
/** A lock being taken: renamed to `.lock` once held, so that no one finds it unheld and removes it. */
const STARTING_SUFFIX = '.starting';
const IDENTITY_SUFFIX = '.json';
const STARTING_GRACE_MS = 60_000;

/** Who holds (or held) a node lock, as the node wrote it. */
export interface NodeLockIdentity {
  pid: number;
  /** The machine's name, as `os.hostname()` gave it to the node. */
  hostname: string;
  /** Epoch ms. */
  startedAt: number;
  /** Set once the node has a cluster id (after it listens): its `cluster_nodes` row's id, host and port. */
  nodeId?: string;
  host?: string;
  port?: number;
}

export interface NodeLockProbe {
  /** The lock file. */
  file: string;
  /** Whether a live process holds it. */
  held: boolean;
  /** Undefined when the identity file is missing or unreadable (a node that died while starting). */
  identity: NodeLockIdentity | undefined;
}

export function nodeLocksFolder(layout: HomeLayout): string {
  return path.join(layout.root, LOCKS_FOLDER);
}

/** The lock a running node holds on its home, from start to stop. */
export class NodeLock {
  private constructor(
    readonly file: string,
    private readonly handle: Database.Database,
    private identity: NodeLockIdentity,
  ) {}

  /** Takes a new lock in the home, clearing the files of locks whose holders died. */
  static acquire(layout: HomeLayout): NodeLock {
    const folder = nodeLocksFolder(layout);
    // Owner-only like the rest of the home (home/private-modes.ts): the identity names the node's pid and port.
    mkdirSync(folder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
    removeStaleLocks(folder);
    const base = path.join(folder, `${process.pid}-${randomBytes(4).toString('hex')}`);
    const starting = `${base}${STARTING_SUFFIX}`;
    closeSync(openSync(starting, 'a', PRIVATE_FILE_MODE));
    const handle = new Database(starting, { timeout: 0 });
    try {
      handle.exec('BEGIN EXCLUSIVE');
    } catch (error) {
      handle.close();
      rmSync(starting, { force: true });
      throw error;
    }
    const file = `${base}${LOCK_SUFFIX}`;
    const lock = new NodeLock(file, handle, {
      pid: process.pid,
      hostname: os.hostname(),
      startedAt: Date.now(),
    });
    lock.writeIdentity();
    // The kernel's lock belongs to the open file, not to its name: it stays held across the rename.
    renameSync(starting, file);
    return lock;
  }

  /** Adds the node's cluster identity once it has one, for refusals to name it. */
  identify(node: { nodeId: string; host: string; port: number }): void {
    this.identity = { ...this.identity, nodeId: node.nodeId, host: node.host, port: node.port };
    this.writeIdentity();
  }

  /** Releases the lock and removes its files (a clean stop leaves nothing behind). */
  release(): void {
    if (!this.handle.open) return;
    rmSync(identityFile(this.file), { force: true });
    rmSync(this.file, { force: true });
    this.handle.exec('ROLLBACK');
    this.handle.close();
  }

  private writeIdentity(): void {
    // Written whole then renamed: a reader never sees half an identity.
    const target = identityFile(this.file);
    writeFileSync(`${target}.tmp`, `${JSON.stringify(this.identity)}\n`, { mode: PRIVATE_FILE_MODE });
    renameSync(`${target}.tmp`, target);
  }
}

/**
 * Tests every node lock in the home without disturbing its holder: a held lock answers SQLITE_BUSY at once
 * (no busy timeout), a free one is taken and given back within the same call.
 */
export function probeNodeLocks(layout: HomeLayout): NodeLockProbe[] {
  const folder = nodeLocksFolder(layout);
  if (!existsSync(folder)) return [];
  return lockFiles(folder).map((file) => ({ file, held: isHeld(file), identity: readIdentity(file) }));
}

function lockFiles(folder: string, suffixes: readonly string[] = [LOCK_SUFFIX]): string[] {
  return readdirSync(folder)
    .filter((name) => suffixes.some((suffix) => name.endsWith(suffix)))
    .sort()
    .map((name) => path.join(folder, name));
}

function isHeld(file: string): boolean {
  let handle: Database.Database;
  try {
    handle = new Database(file, { timeout: 0, fileMustExist: true });
  } catch {
    return false; // removed meanwhile: its node stopped
  }
  try {
    handle.exec('BEGIN EXCLUSIVE');
    handle.exec('ROLLBACK');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw error;
  } finally {
    handle.close();
  }
}

function readIdentity(file: string): NodeLockIdentity | undefined {
  try {
    return JSON.parse(readFileSync(identityFile(file), 'utf8')) as NodeLockIdentity;
  } catch {
    return undefined;
  }
}

/** Lock files nobody holds are left by nodes that died (crash, kill -9); their identity goes with them. */
function removeStaleLocks(folder: string): void {
  for (const file of lockFiles(folder, [LOCK_SUFFIX, STARTING_SUFFIX])) {
    // A `.starting` file may be a lock another node created and has not taken yet: left a minute first.
    if (file.endsWith(STARTING_SUFFIX)) {
      const created = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
      if (created === undefined || Date.now() - created < STARTING_GRACE_MS) continue;
    }
    if (isHeld(file)) continue;
    rmSync(identityFile(file), { force: true });
    rmSync(file, { force: true });
  }
}

function identityFile(lockFile: string): string {
  return `${lockFile.slice(0, lockFile.lastIndexOf('.'))}${IDENTITY_SUFFIX}`;
}
