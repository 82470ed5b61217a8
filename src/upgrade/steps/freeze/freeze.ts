import { TesseraError } from '../../../errors.js';
import type { AckReport } from '../../../maintenance/ack-report.js';
import { crashPoint } from '../../crash.js';
import {
  FREEZE_RETRY_AFTER_SECONDS,
  freezeActor,
  freezeMessage,
  readState,
  releaseFreeze,
  switchOn,
  waitForFreeze,
} from '../../freeze/production-freeze.js';
import type { Step, UpgradeContext } from '../../types.js';

/**
 * How long the live nodes get to acknowledge the freeze. A node learns of it within one heartbeat period
 * (at once with Redis) and then waits for its writes in flight, which 2.0.1 bounds at 30 s: a node still
 * silent after both is hung or cut off from the database, and the upgrade does not go on without it.
 */
const DRAIN_BOUND_MS = 30_000;

export function freezeWaitMs(heartbeatSeconds: number): number {
  return DRAIN_BOUND_MS + 2 * heartbeatSeconds * 1000;
}

export interface FreezeNode {
  nodeId: string;
  host: string;
  port: number;
  acked: boolean;
}

/** What the freeze step records (the journal's `freeze` keeps the same moments for abort and promote). */
export interface FreezeDetails {
  generation: number;
  /** Epoch ms of the switch: the write window starts here. */
  frozenAt: number;
  /** Epoch ms at which the last live node acknowledged. */
  ackedAt: number;
  /** How long the nodes took to acknowledge. */
  ackMs: number;
  nodes: FreezeNode[];
  message: string;
}

/**
 * Upgrade step 3 on the online path (docs/architecture.md, The upgrade): switches production into maintenance
 * mode and waits until every live node acknowledged it, that is refuses writes and finished the ones it had
 * let in, so that the backup and the copy that follow see a production that no longer changes (what a
 * frozen 2.0.1 node still writes is in src/upgrade/freeze/live-writes.ts). A node that does not acknowledge
 * in time stops the upgrade, and production leaves maintenance again: nothing else was done yet.
 */
export const freezeStep: Step<'freeze', FreezeDetails> = {
  name: 'freeze',
  title: 'Freeze: switch production into maintenance, wait for every live node to acknowledge',

  async describe(context) {
    const { plan, journal } = context;
    return [
      `switch production into maintenance mode: logins and reads keep working on the running nodes, writes answer 503 MAINTENANCE with Retry-After: ${FREEZE_RETRY_AFTER_SECONDS}`,
      `message: "${freezeMessage(journal.data.id, plan.sourceRelease, plan.targetRelease)}"`,
      `wait at most ${Math.round(freezeWaitMs(context.oldConfig.heartbeatSeconds) / 1000)} s until every live node acknowledged (drained its writes in flight); else switch maintenance off again and stop`,
      'the write window starts at the switch and ends when the new release serves',
    ];
  },

  async run(context, previous) {
    const { journal, plan, progress } = context;
    const production = await context.production();
    const message = freezeMessage(journal.data.id, plan.sourceRelease, plan.targetRelease);
    const by = freezeActor(journal.data.id);
    const frozen = await resumedFreeze(context, previous);
    const state = frozen ?? (await switchOn(context.oldConfig, production, { message, by }));
    const frozenAt = frozen?.since ?? state.since ?? context.now();
    journal.recordFreeze({ generation: state.generation, startedAt: frozenAt, message });
    journal.markForResume(freezeStep, { generation: state.generation, frozenAt, message });
    crashPoint('freeze:switched');
    progress.line(
      `  production is in maintenance (generation ${state.generation}); waiting for every live node to acknowledge ...`,
    );
    const report = await waitForFreeze(
      context.oldConfig,
      production,
      state.generation,
      freezeWaitMs(context.oldConfig.heartbeatSeconds),
    );
    if (!report.allAcked) await giveUp(context, state.generation, report);
    const ackedAt = context.now();
    journal.recordFreeze({ generation: state.generation, startedAt: frozenAt, ackedAt, message });
    progress.line(
      `  frozen: ${report.nodes.length} live node(s) acknowledged in ${((ackedAt - frozenAt) / 1000).toFixed(2)} s; writes are refused until promote`,
    );
    return {
      generation: state.generation,
      frozenAt,
      ackedAt,
      ackMs: ackedAt - frozenAt,
      nodes: report.nodes.map(({ nodeId, host, port, acked }) => ({ nodeId, host, port, acked })),
      message,
    };
  },
};

/**
 * A resumed attempt whose earlier one switched already: production still in that generation is not switched
 * again (the write window started then). Switched off or over since, the earlier freeze does not count.
 */
async function resumedFreeze(context: UpgradeContext, previous: Partial<FreezeDetails> | undefined) {
  if (typeof previous?.generation !== 'number') return undefined;
  const state = await readState(await context.production());
  return state.on && state.generation === previous.generation ? state : undefined;
}

/** Names the nodes that did not acknowledge, takes production out of maintenance, and stops the upgrade. */
async function giveUp(context: UpgradeContext, generation: number, report: AckReport): Promise<never> {
  const { journal } = context;
  const released = await releaseFreeze(
    context.oldConfig,
    await context.production(),
    generation,
    freezeActor(journal.data.id),
  );
  const freeze = journal.data.freeze;
  if (freeze && released.released) journal.recordFreeze({ ...freeze, releasedAt: context.now() });
  const silent = report.nodes.filter((node) => !node.acked);
  throw new TesseraError(
    'PREFLIGHT_FAILED',
    `${silent.length} live node(s) did not acknowledge the freeze within ${Math.round(freezeWaitMs(context.oldConfig.heartbeatSeconds) / 1000)} s: ${silent
      .map(
        (node) =>
          `${node.nodeId} at ${node.host}:${node.port}${node.inFlight > 0 ? ` (${node.inFlight} writes still running)` : ''}`,
      )
      .join(
        ', ',
      )}. ${released.released ? 'Production was switched out of maintenance again: it accepts writes as before.' : `Production's maintenance mode was left as found (${released.why}).`}`,
    {
      hint: 'Check those nodes (a hung process, a lost database connection) or stop them, then run the same command with --resume.',
    },
  );
}
