import type { Liveness } from '../cluster/liveness.js';
import { hasMaintenanceMode } from '../releases/matrix.js';

/**
 * How production is held still while it is backed up and copied:
 * - `stopped-node`: every node is stopped first (the preflight refuses live ones); the outage runs from the
 *   last node found stopped until the new release serves.
 * - `online`: the nodes keep running and production is switched into maintenance mode (a freeze): logins
 *   and reads are served for the whole upgrade, writes are refused from the freeze until promote.
 */
export type UpgradePathName = 'online' | 'stopped-node';

/** The path the plan took, and why, in one sentence (the dry run, the journal and the report say it). */
export interface PathChoice {
  name: UpgradePathName;
  reason: string;
}

/** What the choice reads of production's liveness: which nodes run on it, and which other sessions. */
export type AttachedClients = Pick<Liveness, 'state' | 'nodes' | 'sessions'>;

/**
 * The online path needs nodes to keep serving and every one of them to follow the maintenance mode, which
 * only nodes of a release that has it do (the release matrix says which): a node of an older release (or
 * one whose release cannot be read: a node still starting has no row yet) would go on writing through the
 * freeze. Without a live node nothing needs to stay up, and the stopped-node path, as before, has nothing
 * to freeze. Other sessions do not decide the path: on the online path they are the nodes' own connections.
 */
export function choosePath(attached: AttachedClients): PathChoice {
  if (attached.state !== 'live' || attached.nodes.length === 0) {
    return {
      name: 'stopped-node',
      reason:
        attached.state === 'live'
          ? 'no Tessera node runs on production, but other clients are connected: they cannot be frozen, so every client must be stopped'
          : 'no Tessera node runs on production: nothing needs to keep serving, so production is copied as it stands',
    };
  }
  const releases = attached.nodes.map((node) => node.release);
  const without = [
    ...new Set(releases.filter((r) => r === undefined || !hasMaintenanceMode(r)).map(describe)),
  ];
  if (without.length > 0) {
    return {
      name: 'stopped-node',
      reason: `nodes of ${without.join(', ')} run on production, and only nodes of a release with maintenance mode (2.0.1 on) can be frozen instead of stopped`,
    };
  }
  const distinct = [...new Set(releases)].join(', ');
  return {
    name: 'online',
    reason: `${attached.nodes.length} node(s) of release ${distinct}, which has maintenance mode, run on production: it is frozen (logins and reads served, writes refused) instead of stopped`,
  };
}

function describe(release: string | undefined): string {
  return release === undefined ? 'an unknown release (a node still starting)' : `release ${release}`;
}

/** The path a plan recorded; a journal written before the online path existed took the stopped-node one. */
export function pathOf(plan: { path?: PathChoice | undefined }): UpgradePathName {
  return plan.path?.name ?? 'stopped-node';
}
