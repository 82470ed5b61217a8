import { isTesseraError, TesseraError } from '../../../errors.js';
import { pathOf } from '../../path-choice.js';
import type { CheckResult, Step, UpgradeContext } from '../../types.js';
import { checkDatabaseTypes, DATABASE_TYPES_CHECK } from './database-types.js';
import { checkDiskSpace, DISK_SPACE_CHECK, type FreeSpaceSource, statfsFreeSpace } from './disk-space.js';
import { checkNoLiveNode, LIVE_NODES_CHECK } from './live-nodes.js';
import { checkNewHome, NEW_HOME_CHECK } from './new-home.js';
import { checkReleasePath, RELEASE_PATH_CHECK } from './release-path.js';
import { checkStagingDatabase, STAGING_CHECK } from './staging-database.js';
import { resolveTargets } from './targets.js';

/** What the checks read from outside the databases and homes; tests inject a tiny free-space figure. */
export interface PreflightEnvironment {
  freeSpace: FreeSpaceSource;
}

const DEFAULT_ENVIRONMENT: PreflightEnvironment = { freeSpace: statfsFreeSpace };

export interface PreflightOutcome {
  results: CheckResult[];
  /** When production was found with no live node (epoch ms); undefined when that check failed. */
  noLiveNodeAt: number | undefined;
}

/**
 * Runs every check of upgrade step 2, in order, each to its end even when an earlier one failed, so that the
 * operator sees every problem at once. Reads only: nothing is created or written anywhere, and the only lock
 * taken is a node lock of the old home found free, given back at once (src/home/node-lock.ts).
 */
export async function runPreflight(
  context: UpgradeContext,
  environment: PreflightEnvironment = DEFAULT_ENVIRONMENT,
): Promise<PreflightOutcome> {
  const targets = resolveTargets(context);
  const passedBefore = context.journal.step(preflightStep).status === 'done';
  let noLiveNodeAt: number | undefined;
  const results = [
    await guarded(DATABASE_TYPES_CHECK, async () => checkDatabaseTypes(targets)),
    await guarded(STAGING_CHECK, () => checkStagingDatabase(context, targets, passedBefore)),
    await guarded(LIVE_NODES_CHECK, async () => {
      const outcome = await checkNoLiveNode(context);
      noLiveNodeAt = outcome.noLiveNodeAt;
      return outcome.result;
    }),
    await guarded(RELEASE_PATH_CHECK, async () => checkReleasePath(context.plan)),
    await guarded(DISK_SPACE_CHECK, () => checkDiskSpace(context, environment.freeSpace)),
    await guarded(NEW_HOME_CHECK, async () => checkNewHome(context)),
  ];
  return { results, noLiveNodeAt };
}

/** Every check's result, for the dry run to print whole. */
export async function runPreflightChecks(
  context: UpgradeContext,
  environment: PreflightEnvironment = DEFAULT_ENVIRONMENT,
): Promise<CheckResult[]> {
  return (await runPreflight(context, environment)).results;
}

/** A check that cannot even run (a database unreachable, a folder unreadable) is a failed check. */
async function guarded(name: string, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    return {
      name,
      ok: false,
      message: `The check could not run: ${(error as Error).message}`,
      hint: isTesseraError(error) ? error.hint : undefined,
    };
  }
}

/** The refusal, listing every failed check with what to do about it. */
export function preflightRefusal(results: readonly CheckResult[]): TesseraError {
  const failed = results.filter((r) => !r.ok);
  const lines = failed.map(
    (r) =>
      `  - ${r.name}: ${r.unknown ? 'unknown: ' : ''}${r.message}${r.hint ? `\n    what to do: ${r.hint}` : ''}`,
  );
  return new TesseraError(
    'PREFLIGHT_FAILED',
    `The preflight refused the upgrade (${failed.length} of ${results.length} checks failed):\n${lines.join('\n')}`,
    { hint: 'Nothing was changed. Fix the failed checks above and run the same command again.' },
  );
}

/** What the preflight records: every check's result, and when the last node was found stopped. */
export interface PreflightDetails {
  checks: CheckResult[];
  /** Epoch ms; where promote's outage begins. Absent when the live-node check did not pass. */
  noLiveNodeAt: number | undefined;
}

export type PreflightStep = Step<'preflight', PreflightDetails>;

export function createPreflightStep(environment: PreflightEnvironment = DEFAULT_ENVIRONMENT): PreflightStep {
  return {
    name: 'preflight',
    title: 'Preflight: same database type, empty staging, no live node, a release path, disk, new home',
    async describe(context) {
      return [
        'Check that production and staging are the same type of database.',
        'Check that staging exists and is empty (and is not production).',
        pathOf(context.plan) === 'online'
          ? 'Check, from production and the old home, that every server node connected runs a release with maintenance mode (the online path freezes production instead of stopping them).'
          : "Check, from production and the old home, that no server node is connected (sessions, the nodes' home locks, heartbeats).",
        'Check that the release matrix has a path from the source to a newer target.',
        'Check that the new home has disk for the backup (2 x the database + the old home).',
        "Check that the new home is absent, empty, or holds this upgrade's journal.",
      ];
    },
    async run(context) {
      const { results, noLiveNodeAt } = await runPreflight(context, environment);
      if (results.some((r) => !r.ok)) throw preflightRefusal(results);
      for (const result of results)
        context.progress.line(`  ${result.unknown ? 'unknown' : 'ok'} ${result.name}: ${result.message}`);
      return { checks: results, noLiveNodeAt };
    },
  };
}

/** Upgrade step 2 (docs/architecture.md, The upgrade): refuses the upgrade unless every precondition holds; changes nothing either way. */
export const preflightStep: PreflightStep = createPreflightStep();
