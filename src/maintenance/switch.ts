import type { Kysely } from 'kysely';
import type { InvalidationBus } from '../cluster/bus.js';
import type { Schema } from '../db/schema.js';
import { type AckReport, waitForAcks } from './ack-report.js';
import type { MaintenanceMode } from './mode.js';
import type { MaintenanceChange } from './state.js';
import { switchMaintenance } from './state-row.js';

/** How long `on` waits for the nodes' acknowledgements unless told otherwise. */
export const DEFAULT_ACK_WAIT_SECONDS = 30;
/** `off` needs no acknowledgement; it shows those that come within this. */
const OFF_ACK_WAIT_MS = 1_000;

export interface SwitchOptions {
  db: Kysely<Schema>;
  /** Tells the nodes to read the state now (a bus reaching no one leaves them to their periodic read). */
  bus: InvalidationBus;
  change: MaintenanceChange;
  /** `cluster.heartbeat_seconds` in ms: which nodes are live. */
  periodMs: number;
  waitMs: number;
  /** The node switching, when a node switches (the API): it applies the switch before it tells anyone. */
  mode?: MaintenanceMode | undefined;
}

/**
 * Switches the mode for the whole cluster (README, Maintenance mode): writes the row, applies it on this
 * node, announces it, and (for `on`) waits until every live node acknowledged it or `waitMs` passed.
 */
export async function switchCluster(options: SwitchOptions): Promise<AckReport> {
  const state = await switchMaintenance(options.db, options.change);
  options.mode?.learn(state);
  await options.bus.publish({ kind: 'maintenance', generation: state.generation });
  const waitMs = state.on ? options.waitMs : Math.min(options.waitMs, OFF_ACK_WAIT_MS);
  return waitForAcks(options.db, options.periodMs, state.generation, waitMs);
}
