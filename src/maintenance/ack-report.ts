import type { Kysely } from 'kysely';
import { listNodes } from '../cluster/nodes.js';
import type { Schema } from '../db/schema.js';
import { readAcks } from './acks.js';
import type { MaintenanceState } from './state.js';
import { readMaintenanceState } from './state-row.js';

export interface NodeAckLine {
  nodeId: string;
  host: string;
  port: number;
  /** The node applied the generation asked about and has no write of before it still running. */
  acked: boolean;
  /** The last generation it acknowledged, if any. */
  ackedGeneration: number | undefined;
  /** Writes it still had running when it acknowledged (it gave up waiting for them). */
  inFlight: number;
}

export interface AckReport {
  state: MaintenanceState;
  /** The generation the acknowledgements were checked against. */
  generation: number;
  /** Every live node (`tessera cluster status`'s `live`), oldest first. */
  nodes: NodeAckLine[];
  allAcked: boolean;
}

/** The state and, for each live node, whether it acknowledged `generation` (default: the current one). */
export async function ackReport(
  db: Kysely<Schema>,
  periodMs: number,
  generation?: number,
): Promise<AckReport> {
  const [state, nodes, acks] = await Promise.all([
    readMaintenanceState(db),
    listNodes(db, periodMs),
    readAcks(db),
  ]);
  const wanted = generation ?? state.generation;
  const lines = nodes
    .filter((node) => node.state === 'live')
    .map((node): NodeAckLine => {
      const ack = acks.get(node.nodeId);
      return {
        nodeId: node.nodeId,
        host: node.host,
        port: node.port,
        // A later generation counts too: the node applied this switch on its way to the later one.
        acked: ack !== undefined && ack.generation >= wanted && ack.inFlight === 0,
        ackedGeneration: ack?.generation,
        inFlight: ack?.inFlight ?? 0,
      };
    });
  return { state, generation: wanted, nodes: lines, allAcked: lines.every((line) => line.acked) };
}

/** Polls {@link ackReport} until every live node acknowledged `generation`, or `waitMs` passed. */
export async function waitForAcks(
  db: Kysely<Schema>,
  periodMs: number,
  generation: number,
  waitMs: number,
  pollMs = 100,
): Promise<AckReport> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const report = await ackReport(db, periodMs, generation);
    if (report.allAcked || Date.now() >= deadline) return report;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
