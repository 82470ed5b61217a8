import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { InvalidationBus } from '../cluster/bus.js';
import type { Schema } from '../db/schema.js';
import { removeAck, removeOrphanAcks } from './acks.js';
import { followMaintenance } from './follow.js';
import { registerMaintenanceGauge } from './metrics.js';
import { MaintenanceMode } from './mode.js';
import { readMaintenanceState } from './state-row.js';

export interface NodeMaintenanceOptions {
  db: Kysely<Schema>;
  bus: InvalidationBus;
  logger: Logger;
  /** `cluster.heartbeat_seconds` in ms. */
  periodMs: number;
  metrics?: Registry;
}

/** A server's maintenance mode: its state, kept in step with the cluster, and its acknowledgements. */
export interface NodeMaintenance {
  mode: MaintenanceMode;
  /** The node registered in `cluster_nodes`: it acknowledges from now on, and drops crashed nodes' rows. */
  attachNode(nodeId: string): Promise<void>;
  /** Stops following and removes this node's acknowledgement. */
  close(): Promise<void>;
}

/**
 * Reads the state before the node serves anything, so that a node started (or restarted) during a
 * maintenance refuses writes from its first request.
 */
export async function openNodeMaintenance(options: NodeMaintenanceOptions): Promise<NodeMaintenance> {
  const { db, logger } = options;
  const mode = new MaintenanceMode({ db, logger });
  mode.learn(await readMaintenanceState(db));
  if (options.metrics !== undefined) registerMaintenanceGauge(options.metrics, mode);
  const follower = followMaintenance({ mode, db, bus: options.bus, periodMs: options.periodMs, logger });
  let nodeId: string | undefined;
  return {
    mode,
    async attachNode(id) {
      nodeId = id;
      const removed = await removeOrphanAcks(db).catch(() => 0);
      if (removed > 0) logger.debug({ removed }, 'removed maintenance acknowledgements of stopped nodes');
      mode.attachNode(id);
    },
    async close() {
      follower.stop();
      await mode.settled();
      if (nodeId !== undefined) await removeAck(db, nodeId);
    },
  };
}
