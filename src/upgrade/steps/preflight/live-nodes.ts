import type { Kysely } from 'kysely';
import type { Database } from '../../../db/connection.js';
import type { LiveSession } from '../../../db/dialect.js';
import type { ClusterNodesTable } from '../../../db/schema.js';
import type { DatabaseKind } from '../../../db/url.js';
import type { CheckResult, UpgradeContext } from '../../types.js';
import { heartbeatPeriodMs } from './heartbeat-period.js';

export const LIVE_NODES_CHECK = 'no-live-node';

/** A node that missed this many heartbeats in a row is taken as stopped (crashed nodes leave their row). */
export const MISSED_HEARTBEATS = 3;

/**
 * Where each engine's list of connected clients comes from, for the message. SQLite keeps no such list and
 * Tessera holds no lock or pid file beside it, so there the node heartbeats are the only witness.
 */
const SESSION_WITNESS: Readonly<Record<DatabaseKind, string | undefined>> = {
  sqlite: undefined,
  postgres: 'pg_stat_activity',
  mysql: 'the process list',
};

type LiveNode = Pick<ClusterNodesTable, 'node_id' | 'host' | 'port' | 'release_version' | 'last_heartbeat'>;

export interface LiveNodesOutcome {
  result: CheckResult;
  /** When production was found with no node attached: where the outage starts. Set when the check passed. */
  noLiveNodeAt?: number;
}

/**
 * No server node may be connected to production while it is backed up and copied, and this is found from the
 * database itself, never from the operator's word: the engine's other sessions, and the nodes whose
 * heartbeat in `cluster_nodes` (2.0.0 on) is recent.
 */
export async function checkNoLiveNode(context: UpgradeContext): Promise<LiveNodesOutcome> {
  const production = await context.production();
  const sessions = await otherSessions(production);
  const periodMs = heartbeatPeriodMs(context.oldLayout.configFile);
  const windowMs = MISSED_HEARTBEATS * periodMs;
  const nodes = await recentHeartbeats(production.db, context.now() - windowMs);
  const checkedAt = context.now();

  const failures: string[] = [];
  if (sessions.length > 0) {
    failures.push(
      `${count(sessions.length, 'other session')} connected to production ${production.label}: ${sessions.map(describeSession).join('; ')}.`,
    );
  }
  if (nodes !== undefined && nodes.length > 0) {
    failures.push(
      `${count(nodes.length, 'node')} heartbeat within the last ${seconds(windowMs)}: ${nodes.map((n) => describeNode(n, checkedAt)).join('; ')}.`,
    );
  }
  if (failures.length > 0) {
    return {
      result: {
        name: LIVE_NODES_CHECK,
        ok: false,
        message: failures.join(' '),
        hint: `Stop every Tessera node and any other client of production, then run the upgrade again (a node that crashed stops counting ${seconds(windowMs)} after its last heartbeat).`,
      },
    };
  }
  return {
    result: {
      name: LIVE_NODES_CHECK,
      ok: true,
      message: passMessage(context, production.kind, nodes, windowMs),
    },
    noLiveNodeAt: checkedAt,
  };
}

/**
 * The engine's sessions on production but ours. The question runs on one pinned connection, which the
 * dialect leaves out; the runner's pool reuses that one idle connection for its sequential reads, so no
 * other connection of ours should show (if one did, the check errs on the safe side and refuses).
 */
async function otherSessions(production: Database<unknown>): Promise<LiveSession[]> {
  return production.db.connection().execute((connection) => production.dialect.liveSessions(connection));
}

/** Nodes whose last heartbeat is after `since`; undefined when the release has no `cluster_nodes` table. */
async function recentHeartbeats(db: Kysely<unknown>, since: number): Promise<LiveNode[] | undefined> {
  const tables = await db.introspection.getTables();
  if (!tables.some((t) => t.name === 'cluster_nodes')) return undefined;
  return (db as Kysely<{ cluster_nodes: ClusterNodesTable }>)
    .selectFrom('cluster_nodes')
    .select(['node_id', 'host', 'port', 'release_version', 'last_heartbeat'])
    .where('last_heartbeat', '>', since)
    .orderBy('node_id')
    .execute();
}

function passMessage(
  context: UpgradeContext,
  kind: DatabaseKind,
  nodes: LiveNode[] | undefined,
  windowMs: number,
): string {
  const witness = SESSION_WITNESS[kind];
  const sessions = witness
    ? `No other session is connected to production (${witness}).`
    : 'SQLite keeps no list of its connections (and Tessera no lock file): the node heartbeats are the only witness.';
  if (nodes !== undefined) {
    return `${sessions} No node heartbeat in the last ${seconds(windowMs)} (cluster_nodes, ${MISSED_HEARTBEATS} heartbeat periods).`;
  }
  const release = context.plan.sourceRelease;
  return witness
    ? `${sessions} Release ${release} keeps no node heartbeats.`
    : `${sessions} Release ${release} keeps no node heartbeats either: nothing in the database can show a running node, so make sure every node of ${release} is stopped.`;
}

function describeSession(session: LiveSession): string {
  return `session ${session.id} (user ${session.user || '?'}, ${session.client})`;
}

function describeNode(node: LiveNode, now: number): string {
  const ago = Math.max(0, Math.round((now - Number(node.last_heartbeat)) / 1000));
  return `${node.node_id} at ${node.host}:${node.port} (release ${node.release_version}, last heartbeat ${ago} s ago)`;
}

function count(n: number, noun: string): string {
  return n === 1 ? `1 ${noun} is` : `${n} ${noun}s are`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
