import type { Kysely } from 'kysely';
import type { Database } from '../db/connection.js';
import type { LiveSession } from '../db/dialect.js';
import type { ClusterNodesTable } from '../db/schema.js';
import type { HomeLayout } from '../home/layout.js';
import { type NodeLockProbe, probeNodeLocks } from '../home/node-lock.js';
import { compareVersions } from '../releases/semver.js';

/** A node that missed this many heartbeats in a row is taken as stopped (crashed nodes leave their row). */
export const MISSED_HEARTBEATS = 3;

/** The first release whose nodes hold a lock in their home (src/home/node-lock.ts) while they run. */
export const HOME_LOCK_SINCE = '2.0.0';

/**
 * - `stopped`: something that would see a running node looked and saw none.
 * - `live`: a node (or another client) is attached.
 * - `unknown`: nothing found, but nothing could have shown a node of that release (a SQLite home of a release
 *   whose nodes hold no lock and keep no heartbeat): the operator alone knows.
 */
export type LivenessState = 'stopped' | 'live' | 'unknown';

/** A running node, as its home lock and/or its heartbeat show it. */
export interface LiveNode {
  /** The node's cluster id; undefined for a node still starting (its lock has no id yet). */
  nodeId: string | undefined;
  host: string;
  port: number | undefined;
  release: string | undefined;
  pid: number | undefined;
  /** Whole seconds since its last heartbeat; undefined when only its lock shows it. */
  secondsSinceHeartbeat: number | undefined;
  /** Holds a lock in the home that was checked. */
  locked: boolean;
}

export interface Liveness {
  state: LivenessState;
  nodes: LiveNode[];
  /** Other clients of the database (engines that list them). */
  sessions: LiveSession[];
  /** What was asked, for messages: e.g. `pg_stat_activity`, `cluster_nodes heartbeats`, `node locks in HOME`. */
  witnesses: string[];
  /** How recent a heartbeat counts as live. */
  windowMs: number;
  checkedAt: number;
}

export interface LivenessQuestion {
  database: Database<unknown>;
  /** The home whose nodes' locks are tested (the database's own home). */
  layout: HomeLayout;
  /** The release of the nodes that run on this home and database. */
  release: string;
  /** The nodes' heartbeat period. */
  periodMs: number;
  now?: () => number;
}

type HeartbeatRow = Pick<
  ClusterNodesTable,
  'node_id' | 'host' | 'port' | 'release_version' | 'last_heartbeat'
>;

/**
 * Whether any Tessera node runs on a home and its database, found from the machine and the database, never
 * from the operator's word: the engine's other sessions, the locks that running nodes hold in the home
 * (kernel locks, dropped when a process dies, even by kill -9), and the heartbeats in `cluster_nodes` of
 * nodes elsewhere (other homes, other machines). A heartbeat row whose node's lock is found free is a
 * node that died: it does not count, however recent. The upgrade's preflight, `tessera export` and
 * `tessera import` all ask this one question.
 */
export async function findLiveNodes(question: LivenessQuestion): Promise<Liveness> {
  const { database, layout, release, periodMs } = question;
  const now = question.now ?? Date.now;
  const windowMs = MISSED_HEARTBEATS * periodMs;
  const witnesses: string[] = [];

  const sessionWitness = database.dialect.sessionWitness;
  const sessions = sessionWitness ? await otherSessions(database) : [];
  if (sessionWitness) witnesses.push(sessionWitness);

  const locks = probeNodeLocks(layout);
  const locksWitnessed = compareVersions(release, HOME_LOCK_SINCE) >= 0;
  if (locksWitnessed) witnesses.push(`node locks in ${layout.root}`);

  const heartbeats = await nodeRows(database.db);
  if (heartbeats !== undefined) witnesses.push('cluster_nodes heartbeats');
  const checkedAt = now();

  const nodes = mergeNodes(locks, heartbeats ?? [], checkedAt, checkedAt - windowMs);
  const state: LivenessState =
    nodes.length > 0 || sessions.length > 0
      ? 'live'
      : sessionWitness || locksWitnessed
        ? 'stopped'
        : 'unknown';
  return { state, nodes, sessions, witnesses, windowMs, checkedAt };
}

/**
 * Nodes holding a lock, whatever their heartbeat's age (a hung node misses beats but may wake up and write),
 * then nodes only a heartbeat after `since` shows; a row whose node's lock was found free is a dead node's.
 */
function mergeNodes(
  locks: NodeLockProbe[],
  heartbeats: HeartbeatRow[],
  now: number,
  since: number,
): LiveNode[] {
  const dead = new Set(locks.filter((l) => !l.held).map((l) => l.identity?.nodeId));
  const rows = new Map(heartbeats.map((row) => [row.node_id, row]));
  const nodes: LiveNode[] = [];
  for (const lock of locks.filter((l) => l.held)) {
    const id = lock.identity;
    const row = id?.nodeId === undefined ? undefined : rows.get(id.nodeId);
    if (row) rows.delete(row.node_id);
    nodes.push({
      nodeId: id?.nodeId,
      host: row?.host ?? id?.host ?? id?.hostname ?? '?',
      port: row ? Number(row.port) : id?.port,
      release: row?.release_version,
      pid: id?.pid,
      secondsSinceHeartbeat: row ? secondsSince(row, now) : undefined,
      locked: true,
    });
  }
  for (const row of rows.values()) {
    if (dead.has(row.node_id) || Number(row.last_heartbeat) <= since) continue;
    nodes.push({
      nodeId: row.node_id,
      host: row.host,
      port: Number(row.port),
      release: row.release_version,
      pid: undefined,
      secondsSinceHeartbeat: secondsSince(row, now),
      locked: false,
    });
  }
  return nodes;
}

/**
 * The engine's sessions on the database but ours. The question runs on one pinned connection, which the
 * dialect leaves out; a pool reused for sequential reads keeps one idle connection, so no other connection
 * of ours should show (if one did, the check errs on the safe side and finds the database in use).
 */
async function otherSessions(database: Database<unknown>): Promise<LiveSession[]> {
  const list = () =>
    database.db.connection().execute((connection) => database.dialect.liveSessions(connection));
  let sessions = await list();
  // A client's goodbye is handled by the server after the client has moved on: a session closed a moment ago
  // (the previous command's, or this process's own pool just ended) is still listed for a few milliseconds.
  // Only sessions that are still there after a short wait count; a live client never drops out of the list.
  for (let look = 0; sessions.length > 0 && look < SESSION_SETTLE_LOOKS; look++) {
    await new Promise((resolve) => setTimeout(resolve, SESSION_SETTLE_MS));
    const still = new Set((await list()).map((session) => session.id));
    sessions = sessions.filter((session) => still.has(session.id));
  }
  return sessions;
}

/** How long and how often a listed session is looked at again before it is taken as live. */
const SESSION_SETTLE_MS = 150;
const SESSION_SETTLE_LOOKS = 3;

/** Every node row (gone ones are pruned); undefined when the schema has no `cluster_nodes` table. */
async function nodeRows(db: Kysely<unknown>): Promise<HeartbeatRow[] | undefined> {
  const tables = await db.introspection.getTables();
  if (!tables.some((t) => t.name === 'cluster_nodes')) return undefined;
  return (db as Kysely<{ cluster_nodes: ClusterNodesTable }>)
    .selectFrom('cluster_nodes')
    .select(['node_id', 'host', 'port', 'release_version', 'last_heartbeat'])
    .orderBy('node_id')
    .execute();
}

function secondsSince(row: HeartbeatRow, now: number): number {
  return Math.max(0, Math.round((now - Number(row.last_heartbeat)) / 1000));
}

/** `node N at host:port (pid P, release R, last heartbeat S s ago)`, as refusals name a node. */
export function describeLiveNode(node: LiveNode): string {
  const name = node.nodeId ? `node ${node.nodeId}` : 'a node still starting';
  const where = node.port === undefined ? node.host : `${node.host}:${node.port}`;
  const facts = [
    ...(node.pid !== undefined ? [`pid ${node.pid}`] : []),
    ...(node.release ? [`release ${node.release}`] : []),
    node.secondsSinceHeartbeat !== undefined
      ? `last heartbeat ${node.secondsSinceHeartbeat} s ago`
      : 'holds its home lock',
  ];
  return `${name} at ${where} (${facts.join(', ')})`;
}

export function describeSession(session: LiveSession): string {
  return `session ${session.id} (user ${session.user || '?'}, ${session.client})`;
}

/** What was found attached, one sentence per kind; empty when nothing was. */
export function describeAttached(liveness: Liveness, databaseLabel: string): string[] {
  const lines: string[] = [];
  if (liveness.nodes.length > 0) {
    lines.push(
      `${count(liveness.nodes.length, 'Tessera node')} running: ${liveness.nodes.map(describeLiveNode).join('; ')}.`,
    );
  }
  if (liveness.sessions.length > 0) {
    lines.push(
      `${count(liveness.sessions.length, 'other session')} connected to ${databaseLabel}: ${liveness.sessions.map(describeSession).join('; ')}.`,
    );
  }
  return lines;
}

function count(n: number, noun: string): string {
  return n === 1 ? `1 ${noun} is` : `${n} ${noun}s are`;
}
