import type { Database } from '../../../db/connection.js';
import type { SchemaHistoryTable } from '../../../db/schema.js';
import { redactDatabaseUrl } from '../../../db/url.js';
import { TesseraError } from '../../../errors.js';
import { inspectSchema } from '../../../releases/guard.js';
import { readHistory } from '../../../releases/history.js';
import { schemaLevelOf } from '../../../releases/level.js';
import { compareVersions, shipsScripts, upgradePath } from '../../../releases/matrix.js';
import { type MigrationProgress, migrateTo } from '../../../releases/migrator.js';
import { type ReleaseScript, releaseScripts } from '../../../releases/scripts.js';
import { crashPoint } from '../../crash.js';
import type { Step, UpgradeContext } from '../../types.js';
import type { UpgradePlan } from '../../upgrade-plan.js';

/** What the journal keeps of one hop of the migration. */
export interface HopRecord {
  release: string;
  scripts: { name: string; statements: number }[];
  /** Statements this attempt ran. */
  statementsApplied: number;
  /** Statements an interrupted attempt had applied and this one did not run again (non-transactional DDL). */
  resumedAfter?: number;
  durationMs: number;
  /** The whole hop was applied by an earlier, interrupted attempt. */
  alreadyApplied?: boolean;
}

/** What the migration records: every hop, and (while it runs) the last statement applied. */
export interface MigrateDetails {
  target: string;
  /** An earlier attempt had started: a half-applied script was continued, not redone. */
  resumed: boolean;
  hops: HopRecord[];
  statementsApplied: number;
  durationMs: number;
  /** Where the migration was, statement by statement: what an operator looks at after a kill. */
  lastStatement?: MigrationProgress;
}

/** Upgrade step 5 (docs/architecture.md, The upgrade): the release scripts run on staging, hop by hop through the matrix; production is never touched. */
export const migrateStep: Step<'migrate', MigrateDetails> = {
  name: 'migrate',
  title: 'Migrate: run the release scripts on staging, never on production',

  async describe(context) {
    const { plan } = context;
    return [
      `Run on staging ${redactDatabaseUrl(plan.stagingUrl)} only (production is not touched):`,
      ...hopsOf(plan).map((hop) => `  ${hop}: ${describeScripts(releaseScripts(hop, plan.kind))}`),
    ];
  },

  async run(context, previous) {
    const { plan, journal } = context;
    const staging = await context.staging();
    // A recorded earlier attempt means a half-applied script may be waiting: continue it, never redo it.
    const resume = previous !== undefined;
    await assertStagedFromSource(staging, plan);
    const earlier = recordedHops(previous);
    const hops: HopRecord[] = [];
    journal.markForResume(migrateStep, { target: plan.targetRelease, resumed: resume });
    for (const hop of hopsOf(plan)) {
      hops.push(await migrateHop(context, staging, hop, resume, earlier.get(hop)));
      journal.markForResume(migrateStep, { hops });
    }
    const state = await inspectSchema(staging, plan.targetRelease);
    if (state.status !== 'current') {
      throw new TesseraError(
        'SCHEMA_INCOMPLETE',
        `After the migration staging is ${state.status}, not at ${plan.targetRelease}.`,
        { hint: 'Production is untouched. Run the upgrade again with --resume.' },
      );
    }
    return {
      target: plan.targetRelease,
      resumed: resume,
      hops,
      statementsApplied: hops.reduce((sum, h) => sum + h.statementsApplied, 0),
      durationMs: hops.reduce((sum, h) => sum + h.durationMs, 0),
    };
  },
};

/** The releases applied in order, as the matrix of this build says (the source excluded). */
/** The releases on the path whose scripts run: one that changes code only has nothing to apply. */
function hopsOf(plan: UpgradePlan): string[] {
  return upgradePath(plan.sourceRelease, plan.targetRelease).filter(shipsScripts);
}

async function migrateHop(
  context: UpgradeContext,
  staging: Database<unknown>,
  release: string,
  resume: boolean,
  earlier: HopRecord | undefined,
): Promise<HopRecord> {
  const scripts = releaseScripts(release, staging.kind);
  const summary = scripts.map((s) => ({ name: s.name, statements: s.statements.length }));
  const history = await readHistory(staging.db);
  const state = schemaLevelOf(history);
  const unfinished = state.unfinished.some((row) => row.version === release);
  if (state.level !== undefined && compareVersions(state.level, release) >= 0 && !unfinished) {
    return (
      earlier ?? { release, scripts: summary, statementsApplied: 0, durationMs: 0, alreadyApplied: true }
    );
  }
  const total = summary.reduce((sum, s) => sum + s.statements, 0);
  const alreadyApplied = statementsAlreadyApplied(history, scripts);
  const task = context.progress.task(`Migrating staging to ${release}`, total, 'statements');
  if (alreadyApplied > 0) task.advance(alreadyApplied);
  let applied = 0;
  const started = context.now();
  await migrateTo(staging, release, {
    resume,
    now: () => context.now(),
    onStatement(progress: MigrationProgress) {
      // Where DDL is transactional a statement commits with its whole script, so after a kill this may name
      // one that rolled back: the schema history, never the journal, decides where a resume starts.
      applied++;
      task.advance(1);
      context.journal.markForResume(migrateStep, { lastStatement: { ...progress } });
      crashPoint('migrate:statement');
    },
  });
  const durationMs = context.now() - started;
  task.done(
    `${applied} statements in ${durationMs} ms${alreadyApplied > 0 ? ` (resumed after ${alreadyApplied})` : ''}`,
  );
  return {
    release,
    scripts: summary,
    statementsApplied: applied,
    ...(alreadyApplied > 0 ? { resumedAfter: alreadyApplied } : {}),
    durationMs,
  };
}

/** Statements of `scripts` the schema history records as applied (only a non-transactional engine has any). */
function statementsAlreadyApplied(
  history: readonly SchemaHistoryTable[],
  scripts: readonly ReleaseScript[],
): number {
  let applied = 0;
  for (const script of scripts) {
    const row = history.find((h) => h.version === script.version && h.script === script.name);
    if (row) applied += row.finished_at === null ? row.statements_applied : row.statements_total;
  }
  return applied;
}

/**
 * Staging must hold what the stage step copied: production's schema at the source release, or that schema
 * part-way through this migration. Anything else is not ours to migrate.
 */
async function assertStagedFromSource(staging: Database<unknown>, plan: UpgradePlan): Promise<void> {
  const label = redactDatabaseUrl(plan.stagingUrl);
  const state = await inspectSchema(staging, plan.targetRelease);
  switch (state.status) {
    case 'empty':
    case 'foreign':
      throw new TesseraError(
        'SCHEMA_EMPTY',
        `Staging ${label} holds no Tessera schema: nothing was staged.`,
        {
          hint: 'Production is untouched. Run the upgrade again with --resume so that the stage step copies it.',
        },
      );
    case 'tampered':
      throw new TesseraError(
        'SCHEMA_TAMPERED',
        `Staging ${label}: applied scripts ${state.scripts.join(', ')} differ from the scripts this release ships.`,
        { hint: 'Drop staging, create it again empty and start the upgrade with a new --home.' },
      );
    case 'newer':
    case 'retired':
      throw new TesseraError(
        state.status === 'newer' ? 'SCHEMA_NEWER' : 'SCHEMA_RETIRED',
        `Staging ${label} is ${state.status} (${state.level ?? 'no level'}); it cannot be migrated to ${plan.targetRelease}.`,
        { hint: 'Drop staging, create it again empty and start the upgrade with a new --home.' },
      );
    default:
      if (state.level === undefined || compareVersions(state.level, plan.sourceRelease) < 0) {
        throw new TesseraError(
          'SCHEMA_OLDER',
          `Staging ${label} is at ${state.level ?? 'no release'}, older than production's ${plan.sourceRelease}.`,
          { hint: 'Drop staging, create it again empty and start the upgrade with a new --home.' },
        );
      }
  }
}

/** The hop records an interrupted attempt left in the journal, by release. */
function recordedHops(previous: Partial<MigrateDetails> | undefined): Map<string, HopRecord> {
  const hops = previous?.hops;
  if (!Array.isArray(hops)) return new Map();
  // JSON an interrupted attempt wrote: a hop without its release is skipped rather than trusted.
  return new Map(hops.filter((h) => typeof h?.release === 'string').map((h) => [h.release, h]));
}

function describeScripts(scripts: readonly ReleaseScript[]): string {
  return scripts.map((s) => `${s.name} (${s.statements.length} statements)`).join(', ');
}
