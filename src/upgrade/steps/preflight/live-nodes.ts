import {
  describeAttached,
  findLiveNodes,
  type Liveness,
  MISSED_HEARTBEATS,
} from '../../../cluster/liveness.js';
import { choosePath, pathOf } from '../../path-choice.js';
import type { CheckResult, UpgradeContext } from '../../types.js';

export const LIVE_NODES_CHECK = 'no-live-node';

export interface LiveNodesOutcome {
  result: CheckResult;
  /** When production was found with no node attached: where the outage starts. Set when the check passed. */
  noLiveNodeAt?: number;
}

/**
 * No server node may be connected to production while it is backed up and copied, and this is found from
 * the machine and the database, never from the operator's word (src/cluster/liveness.ts: the engine's
 * sessions, the old home's node locks, the heartbeats). Where nothing could show a running node (a SQLite
 * production of a release whose nodes hold no lock), the answer is `unknown`: refused unless the operator
 * takes it on with `--yes`, and never reported as a bare `ok`.
 */
export async function checkNoLiveNode(context: UpgradeContext): Promise<LiveNodesOutcome> {
  const production = await context.production();
  const release = context.plan.sourceRelease;
  const liveness = await findLiveNodes({
    database: production,
    layout: context.oldLayout,
    release,
    periodMs: context.oldConfig.heartbeatSeconds * 1000,
    now: context.now,
  });

  if (liveness.state === 'live' && pathOf(context.plan) === 'online') {
    // The online path freezes production instead: live nodes are expected, if every one can be frozen.
    const now = choosePath(liveness);
    if (now.name === 'online') {
      return {
        result: {
          name: LIVE_NODES_CHECK,
          ok: true,
          message: `${describeAttached(liveness, `production ${production.label}`).join(' ')} Online path: ${now.reason}.`,
        },
      };
    }
    return {
      result: {
        name: LIVE_NODES_CHECK,
        ok: false,
        message: `The plan chose the online path, but now ${now.reason}.`,
        hint: `Stop the nodes of releases without maintenance mode (or every node), then run the upgrade again.`,
      },
    };
  }
  if (liveness.state === 'live') {
    return {
      result: {
        name: LIVE_NODES_CHECK,
        ok: false,
        message: describeAttached(liveness, `production ${production.label}`).join(' '),
        hint: `Stop every Tessera node and any other client of production, then run the upgrade again (a node that crashed stops counting at once on its own home, ${seconds(liveness.windowMs)} after its last heartbeat elsewhere).`,
      },
    };
  }
  if (liveness.state === 'unknown') {
    const message = `Cannot tell whether a node runs: release ${release} nodes hold no lock in their home and keep no heartbeat, and ${production.label} keeps no list of its connections, so nothing can show one of ${release} still running on it.`;
    return {
      result: context.options.yes
        ? {
            name: LIVE_NODES_CHECK,
            ok: true,
            unknown: true,
            message: `${message} Going on: --yes was given.`,
          }
        : {
            name: LIVE_NODES_CHECK,
            ok: false,
            unknown: true,
            message,
            hint: `Make sure every node of ${release} on ${context.oldLayout.root} is stopped, then run the same command with --yes.`,
          },
      // With --yes the operator vouches for it now: the outage is counted from here.
      noLiveNodeAt: context.options.yes ? liveness.checkedAt : undefined,
    };
  }
  return {
    result: { name: LIVE_NODES_CHECK, ok: true, message: stoppedMessage(liveness) },
    noLiveNodeAt: liveness.checkedAt,
  };
}

function stoppedMessage(liveness: Liveness): string {
  const heartbeats = liveness.witnesses.includes('cluster_nodes heartbeats')
    ? ` (heartbeats within ${seconds(liveness.windowMs)}, ${MISSED_HEARTBEATS} periods)`
    : '';
  return `No node and no other session found; asked: ${liveness.witnesses.join(', ')}${heartbeats}.`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
