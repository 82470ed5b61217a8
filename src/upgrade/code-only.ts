import { listNodes } from '../cluster/nodes.js';
import type { Database } from '../db/connection.js';
import { getRelease, releaseSchemaLevel, shipsScripts } from '../releases/matrix.js';
import type { OldConfig } from './types.js';
import type { UpgradePlan } from './upgrade-plan.js';

/**
 * Whether the path from the plan's source to its target changes code only: no release on it ships scripts and
 * the config format stays (2.0.0 -> 2.0.1). Then there is nothing to copy, migrate or rewrite: the nodes are
 * upgraded in place, one at a time, and the staged upgrade (backup, stage, promote) would only cost an outage.
 */
export function changesCodeOnly(plan: UpgradePlan): boolean {
  return (
    plan.hops.length > 0 &&
    plan.hops.every((hop) => !shipsScripts(hop)) &&
    getRelease(plan.targetRelease).configFormat === plan.oldConfigFormat
  );
}

/** What `tessera upgrade` says instead of staging a code-only upgrade: the rolling restart, and the nodes to do it on. */
export async function describeRollingRestart(
  plan: UpgradePlan,
  oldConfig: OldConfig,
  oldHome: string,
  production: Database<unknown>,
): Promise<string[]> {
  const level = releaseSchemaLevel(plan.targetRelease);
  const nodes = await listNodes(production.db, oldConfig.heartbeatSeconds * 1000);
  const running = nodes.filter((node) => node.state !== 'gone');
  return [
    `Production (${plan.kind}, schema level ${level}, config format ${plan.oldConfigFormat}) -> ${plan.targetRelease} changes code only: the same schema and config format, nothing to migrate.`,
    'Nothing is copied, so no backup, staging database or new home is needed: upgrade the nodes in place, one at a time (a rolling restart):',
    '  1. stop one node (SIGTERM): it finishes the requests it holds and leaves the cluster;',
    `  2. start Tessera ${plan.targetRelease} on the same home: tessera start --home ${oldHome}`,
    '  3. wait until its /readyz answers ready, then go on with the next node.',
    'Behind a load balancer the other nodes serve meanwhile; a single node is down only while it restarts.',
    running.length === 0 ? 'No node runs on production now.' : 'Nodes on production now:',
    ...running.map(
      (node) =>
        `  ${node.nodeId} at ${node.host}:${node.port}: release ${node.release}, ${node.state} (last heartbeat ${node.secondsSinceHeartbeat} s ago)`,
    ),
    'Nothing was written: --home and --staging-db are not used for this upgrade.',
  ];
}
