import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Database } from '../../../db/connection.js';
import { redactDatabaseUrl } from '../../../db/url.js';
import { TesseraError } from '../../../errors.js';
import { inspectSchema } from '../../../releases/guard.js';
import { HISTORY_TABLE, historyDb, RETIRED_SCRIPT } from '../../../releases/history.js';
import { crashPoint } from '../../crash.js';
import { writeFileAtomic } from '../../home/atomic.js';
import { assertNewHomeOnStaging } from '../../home/new-config.js';
import { JOURNAL_FOLDER } from '../../journal.js';
import { measureReadiness } from '../../server-process/readiness.js';
import { spawnServerProcess } from '../../server-process/spawn.js';
import type { Step, UpgradeContext } from '../../types.js';
import { preflightStep } from '../preflight/preflight.js';

/** Left in the new home for operators: which database it runs on, and that the old one is retired. */
export const PROMOTED_FILE = 'PROMOTED';

/**
 * Upgrade step 9 (docs/architecture.md, The upgrade): the first and only change to production, which is marked retired so that no node
 * starts on it again; then the new release is started on the new home until it answers, which ends the
 * outage that began when the preflight found the last node stopped.
 */
export const promoteStep: Step<'promote', PromoteDetails> = {
  name: 'promote',
  title: 'Retire production, start the new release, measure the outage',

  async describe(context) {
    const { plan, newLayout } = context;
    return [
      `mark production ${redactDatabaseUrl(plan.productionUrl)} retired (schema history row ${RETIRED_SCRIPT} at ${plan.sourceRelease}): no Tessera node starts on it again`,
      `the new home ${newLayout.root} runs on the upgraded database ${redactDatabaseUrl(plan.stagingUrl)}`,
      'start the new release there until /readyz answers: the outage runs from the moment the preflight found no live node',
      `write ${path.join(newLayout.root, JOURNAL_FOLDER, PROMOTED_FILE)}`,
    ];
  },

  async run(context, previous) {
    const { plan, journal, progress, newLayout } = context;
    // The last look before the one change to production that cannot be taken back.
    await assertNewHomeOnStaging(context, await context.staging());
    const production = await context.production();
    const retired = await retireProduction(
      production,
      plan.sourceRelease,
      retirementChecksum(journal.data.id),
      context.now(),
    );
    journal.markForResume(promoteStep, { retired });
    crashPoint('promote:retired');
    progress.line(
      `Production ${production.label} ${retired.alreadyRetired ? 'was already' : 'is now'} retired; no Tessera node will start on it again.`,
    );

    let readyAt: number;
    let childPeakRssMb: number | undefined;
    if (typeof previous?.readyAt === 'number') readyAt = previous.readyAt;
    else {
      const readiness = await measureReadiness(context.startServer ?? spawnServerProcess, newLayout.root);
      readyAt = readiness.readyAt;
      childPeakRssMb = readiness.stopped.peakRssMb;
    }
    journal.markForResume(promoteStep, { readyAt });
    const outage = recordOutage(context, readyAt);

    const promotedFile = path.join(newLayout.root, JOURNAL_FOLDER, PROMOTED_FILE);
    await writeFileAtomic(promotedFile, promotedText(context, readyAt, outage?.durationMs));
    return {
      retired,
      readyAt,
      outage: outage ?? null,
      promotedFile,
      // The server ran in a process of its own: its peak beside the upgrade process's own `peakRssMb`.
      ...(childPeakRssMb !== undefined ? { childPeakRssMb } : {}),
    };
  },
};

/** The outage as promote measured it, from the last node found stopped to its own readiness probe. */
interface MeasuredOutage {
  startedAt: string;
  endedAt: string;
  durationMs: number;
}

/** What promote records: the retirement of production, and when the new release answered. */
export interface PromoteDetails {
  retired: Retirement;
  /** Epoch ms of the readiness probe's answer; a resumed attempt keeps it rather than probing again. */
  readyAt: number;
  outage: MeasuredOutage | null;
  promotedFile: string;
  childPeakRssMb?: number;
}

export interface Retirement {
  database: string;
  version: string;
  checksum: string;
  /** True when an earlier attempt had already retired it. */
  alreadyRetired: boolean;
}

/** The retirement row's checksum: the upgrade that retired the database, recognisable later. */
export function retirementChecksum(journalId: string): string {
  return createHash('sha256').update(`tessera upgrade ${journalId}`).digest('hex');
}

/**
 * Writes the schema history row that makes the guard refuse the database (SCHEMA_RETIRED), unless it is
 * there, and checks that the guard now sees the database as retired.
 */
async function retireProduction(
  production: Database<unknown>,
  version: string,
  checksum: string,
  now: number,
): Promise<Retirement> {
  const history = historyDb(production.db);
  const existing = await history
    .selectFrom(HISTORY_TABLE)
    .select(['version', 'checksum'])
    .where('script', '=', RETIRED_SCRIPT)
    .executeTakeFirst();
  if (existing === undefined) {
    await history
      .insertInto(HISTORY_TABLE)
      .values({
        version,
        script: RETIRED_SCRIPT,
        checksum,
        statements_total: 0,
        statements_applied: 0,
        started_at: now,
        finished_at: now,
        duration_ms: 0,
      })
      .execute();
  }
  const state = await inspectSchema(production);
  if (state.status !== 'retired') {
    throw new TesseraError(
      'VERIFY_FAILED',
      `Production ${production.label} does not read as retired after retiring it (${state.status}).`,
      {
        hint: 'Check that the upgrade may write to the production database, then resume with --resume.',
      },
    );
  }
  return {
    database: production.label,
    version: existing?.version ?? version,
    checksum: existing?.checksum ?? checksum,
    alreadyRetired: existing !== undefined,
  };
}

/**
 * The outage, from the preflight's last-node-stopped moment to `readyAt`; on the online path, where the old
 * nodes served logins and reads throughout, the write window, from the freeze. Undefined when neither
 * moment is known.
 */
function recordOutage(context: UpgradeContext, readyAt: number): MeasuredOutage | undefined {
  const noLiveNodeAt = context.journal.step(preflightStep).details?.noLiveNodeAt;
  const frozenAt = context.journal.data.freeze?.startedAt;
  const startedAt = typeof noLiveNodeAt === 'number' ? noLiveNodeAt : frozenAt;
  if (typeof startedAt !== 'number') {
    context.progress.line(
      'Outage not measured: the preflight recorded no moment at which the last node was found stopped.',
    );
    return undefined;
  }
  context.journal.setOutage(startedAt, readyAt);
  const outage = context.journal.data.outage;
  const what = startedAt === noLiveNodeAt ? 'Outage' : 'Write window';
  const from = startedAt === noLiveNodeAt ? 'last node found stopped' : 'production frozen';
  if (outage) {
    context.progress.line(
      `${what}: ${(outage.durationMs / 1000).toFixed(2)} s so far (from ${outage.startedAt}, ${from}, to ${outage.endedAt}, this step's readiness probe); open: it ends when the first node of the new release serves (tessera start --home ${context.newLayout.root}), and tessera upgrade report then gives the figure.`,
    );
  }
  return outage;
}

function promotedText(context: UpgradeContext, readyAt: number, outageMs: number | undefined): string {
  const { plan, journal } = context;
  return [
    `Tessera upgrade ${journal.data.id}: promoted ${plan.sourceRelease} -> ${plan.targetRelease}.`,
    `This home runs on ${redactDatabaseUrl(plan.stagingUrl)}.`,
    `The old production database ${redactDatabaseUrl(plan.productionUrl)} is retired: no Tessera node starts on it again.`,
    `The new release answered promote's probe at ${new Date(readyAt).toISOString()}${outageMs === undefined ? '' : `; outage ${outageMs} ms so far, until the first node serves`}.`,
    `Details: tessera upgrade report --home ${context.newLayout.root}`,
    '',
  ].join('\n');
}
