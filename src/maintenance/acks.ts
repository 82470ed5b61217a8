import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { SUPER_TENANT_ID } from '../home/layout.js';
import { contentText } from './content.js';

/**
 * Each node's acknowledgement of the maintenance generation it has applied, as one registry row per node
 * under `tessera:maintenance-ack:<nodeId>` (version = the generation).
 *
 * Why rows and not an answer on the bus: `tessera maintenance on` must say which nodes applied the switch,
 * with or without Redis, and a CLI that was not subscribed when a node answered would miss it; the
 * database is what every node and the CLI share in every setup. Why the registry: release 2.0.1 adds no
 * table or column, `cluster_nodes` has no place for it, and a path that does not start with `/` is one the
 * registry API can neither name nor list (see state-row.ts). A node writes its row only once it refuses new
 * writes and its writes in flight are done (or the drain timed out, which the row says), and deletes it on
 * a clean stop; rows of nodes no longer in `cluster_nodes` (a crash) are removed by the next node to start.
 */
export const ACK_PATH_PREFIX = 'tessera:maintenance-ack:';
const MEDIA_TYPE = 'application/json';
const WRITER = 'tessera:maintenance';

export interface NodeAck {
  nodeId: string;
  generation: number;
  /** Writes still running when the node gave up waiting for them: 0 when it drained them all. */
  inFlight: number;
  /** Epoch ms. */
  at: number;
}

/** Records that `nodeId` applied `generation` (replacing its earlier acknowledgement). */
export async function writeAck(db: Kysely<Schema>, ack: NodeAck): Promise<void> {
  const path = `${ACK_PATH_PREFIX}${ack.nodeId}`;
  const content = Buffer.from(JSON.stringify({ inFlight: ack.inFlight }), 'utf8');
  // Only this node writes its row, one acknowledgement after the other: no race to guard against.
  const updated = await db
    .updateTable('registry_resources')
    .set({ version: ack.generation, content, created_at: ack.at })
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', '=', path)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) return;
  await db
    .insertInto('registry_resources')
    .values({
      tenant_id: SUPER_TENANT_ID,
      path,
      version: ack.generation,
      media_type: MEDIA_TYPE,
      content,
      created_by: WRITER,
      created_at: ack.at,
    })
    .execute();
}

export async function removeAck(db: Kysely<Schema>, nodeId: string): Promise<void> {
  await db
    .deleteFrom('registry_resources')
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', '=', `${ACK_PATH_PREFIX}${nodeId}`)
    .execute();
}

/** Every node's latest acknowledgement, by node id. */
export async function readAcks(db: Kysely<Schema>): Promise<Map<string, NodeAck>> {
  const rows = await db
    .selectFrom('registry_resources')
    .select(['path', 'version', 'content', 'created_at'])
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', 'like', `${ACK_PATH_PREFIX}%`)
    .execute();
  const acks = new Map<string, NodeAck>();
  for (const row of rows) {
    const nodeId = row.path.slice(ACK_PATH_PREFIX.length);
    acks.set(nodeId, {
      nodeId,
      generation: Number(row.version),
      inFlight: inFlightOf(row.content),
      at: Number(row.created_at),
    });
  }
  return acks;
}

/** Removes the acknowledgements of nodes not in `cluster_nodes` any more (they crashed). */
export async function removeOrphanAcks(db: Kysely<Schema>): Promise<number> {
  const [acks, nodes] = await Promise.all([
    readAcks(db),
    db.selectFrom('cluster_nodes').select('node_id').execute(),
  ]);
  const known = new Set(nodes.map((node) => node.node_id));
  let removed = 0;
  for (const nodeId of acks.keys()) {
    if (known.has(nodeId)) continue;
    await removeAck(db, nodeId);
    removed++;
  }
  return removed;
}

function inFlightOf(content: Uint8Array | string): number {
  try {
    const value = JSON.parse(contentText(content)) as { inFlight?: unknown };
    return typeof value.inFlight === 'number' ? value.inFlight : 0;
  } catch {
    return 0;
  }
}
