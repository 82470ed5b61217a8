import type { Kysely } from 'kysely';
import type { Database } from '../../db/connection.js';
import type { Schema } from '../../db/schema.js';
import { SUPER_TENANT_ID } from '../../home/layout.js';
import { ACK_PATH_PREFIX } from '../../maintenance/acks.js';
import { readMaintenanceState, switchMaintenance } from '../../maintenance/state-row.js';

export interface StagingThaw {
  /** The maintenance generation written off on staging, when staging was in maintenance. */
  maintenanceOffGeneration?: number;
  /** Node rows of the old cluster removed from staging. */
  nodeRowsRemoved: number;
  /** Their maintenance acknowledgements removed. */
  acksRemoved: number;
}

/**
 * Staging is a copy of production as frozen, and so carries the old cluster's run-time state with it: the
 * freeze itself (the new release would refuse every write, the smoke test's included), the old nodes' rows
 * (with heartbeats fresh enough for the new cluster to wait for their acknowledgements) and those
 * acknowledgements. None of it is data: it describes nodes that never run on staging. It is removed from
 * staging only, after the copy was verified; production keeps it, frozen.
 */
export async function thawStaging(staging: Database<unknown>, by: string): Promise<StagingThaw> {
  const db = staging.db as Kysely<Schema>;
  const state = await readMaintenanceState(db);
  const off = state.on ? await switchMaintenance(db, { on: false, by }) : undefined;
  const acks = await db
    .deleteFrom('registry_resources')
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', 'like', `${ACK_PATH_PREFIX}%`)
    .executeTakeFirst();
  const nodes = await db.deleteFrom('cluster_nodes').executeTakeFirst();
  return {
    ...(off ? { maintenanceOffGeneration: off.generation } : {}),
    nodeRowsRemoved: Number(nodes.numDeletedRows),
    acksRemoved: Number(acks.numDeletedRows),
  };
}
