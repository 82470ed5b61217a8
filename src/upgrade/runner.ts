import { existsSync } from 'node:fs';
import { openDatabase } from '../db/connection.js';
import { resolveEngineAbilities } from '../db/engine-abilities.js';
import { redactDatabaseUrl } from '../db/url.js';
import { isTesseraError, TesseraError } from '../errors.js';
import { type HomeLayout, homeLayout } from '../home/layout.js';
import { tightenHome } from '../home/private-modes.js';
import type { Progress } from '../progress/progress.js';
import { buildPlan, openProduction, readOldConfig } from './build-plan.js';
import { changesCodeOnly, describeRollingRestart } from './code-only.js';
import { UpgradeConnections } from './connections.js';
import { crashPoint } from './crash.js';
import { assertFreezeHolds } from './freeze/production-freeze.js';
import { Journal, journalPath } from './journal.js';
import { pathOf } from './path-choice.js';
import { freezeStep } from './steps/freeze/freeze.js';
import { stepsFor } from './steps/index.js';
import { planStep } from './steps/plan/plan.js';
import { preflightStep, runPreflightChecks } from './steps/preflight/preflight.js';
import type { CheckResult, OldConfig, Step, UpgradeContext, UpgradeOptions } from './types.js';
import type { UpgradePlan } from './upgrade-plan.js';

export interface UpgradeIo {
  progress: Progress;
  /** Asks the operator to go on; resolves false to stop. Absent: refuse unless --yes. */
  confirm?: (question: string) => Promise<boolean>;
}

export interface UpgradeOutcome {
  journal: Journal;
  /** For an upgrade that changes code only: the rolling restart to do instead, said; nothing was written. */
  rollingRestart?: string[];
  /** For a dry run: every preflight result and each step's account of what it would do. */
  dryRun?: { preflight: CheckResult[]; steps: { name: string; title: string; lines: string[] }[] };
}

/**
 * Runs (or resumes, or previews) the staged upgrade (docs/architecture.md, The upgrade). The runner alone knows the order of the
 * steps and the journal; each step reads what earlier steps recorded and records its own facts.
 */
export async function runUpgrade(options: UpgradeOptions, io: UpgradeIo): Promise<UpgradeOutcome> {
  const homes: UpgradeHomes = {
    oldLayout: homeLayout(options.fromHome),
    newLayout: homeLayout(options.home),
  };
  assertTwoHomes(homes);
  const oldConfig = readOldConfig(homes.oldLayout.configFile);
  const file = journalPath(homes.newLayout.root);
  const existing = journalToContinue(file, options, homes.newLayout);
  const connections = upgradeConnections(options, homes, oldConfig);
  try {
    const context = await createContext(options, io, homes, oldConfig, existing, connections);
    if (!existing && changesCodeOnly(context.plan)) {
      const lines = await describeRollingRestart(
        context.plan,
        oldConfig,
        homes.oldLayout.root,
        await context.production(),
      );
      return { journal: context.journal, rollingRestart: lines };
    }
    if (options.dryRun) return { journal: context.journal, dryRun: await preview(context) };
    if (existing) announceResume(context);
    else await startAfterPreflight(context, io, file);
    await runRemainingSteps(context);
    // Copies keep their source's mode (an old home's 0644 store files): the new home is closed off whole.
    tightenHome(homes.newLayout.root);
    context.journal.complete();
    return { journal: context.journal };
  } finally {
    await connections.close();
  }
}

interface UpgradeHomes {
  oldLayout: HomeLayout;
  newLayout: HomeLayout;
}

function assertTwoHomes({ oldLayout, newLayout }: UpgradeHomes): void {
  if (!existsSync(oldLayout.configFile)) {
    throw new TesseraError(
      'BAD_USAGE',
      `${oldLayout.root} is not a Tessera home: it has no conf/tessera.toml.`,
      {
        hint: 'Pass --from-home with the home of the installation to upgrade.',
      },
    );
  }
  if (oldLayout.root === newLayout.root) {
    throw new TesseraError(
      'BAD_USAGE',
      '--home must differ from --from-home: the old home stays as it is until promote.',
      {
        hint: 'Pass a new, empty folder as --home.',
      },
    );
  }
}

/**
 * The journal a `--resume` continues (or a dry run looks at); undefined for a new upgrade. Refuses a new
 * upgrade over an existing journal, a resume without one, and a resume with other arguments.
 */
function journalToContinue(
  file: string,
  options: UpgradeOptions,
  newLayout: HomeLayout,
): Journal | undefined {
  const existing = existsSync(file) ? Journal.load(file) : undefined;
  if (existing?.data.status === 'aborted' && !options.dryRun) {
    throw new TesseraError(
      'BAD_USAGE',
      `The upgrade into ${newLayout.root} was aborted (${existing.data.abortedAt ?? 'earlier'}); it cannot be resumed.`,
      {
        hint: `Start a new upgrade: remove ${newLayout.root} (or pass another --home), and drop and create the staging database ${redactDatabaseUrl(existing.data.command.stagingUrl)} empty again (or pass another --staging-db).`,
      },
    );
  }
  if (existing && !options.resume && !options.dryRun) {
    if (existing.data.status === 'completed') {
      throw new TesseraError('BAD_USAGE', `The upgrade into ${newLayout.root} already completed.`, {
        hint: `See it with: tessera upgrade report --home ${newLayout.root}`,
      });
    }
    throw new TesseraError('BAD_USAGE', `An unfinished upgrade journal exists at ${file}.`, {
      hint: 'Run the same command again with --resume to continue it.',
    });
  }
  if (options.resume && !existing) {
    throw new TesseraError('BAD_USAGE', `Nothing to resume: no upgrade journal at ${file}.`, {
      hint: 'Run the upgrade without --resume to start it.',
    });
  }
  if (existing && options.resume) assertSameCommand(existing, options);
  return existing;
}

function upgradeConnections(
  options: UpgradeOptions,
  { oldLayout, newLayout }: UpgradeHomes,
  oldConfig: OldConfig,
): UpgradeConnections {
  return new UpgradeConnections({
    production: () => openProduction(oldConfig, oldLayout.root),
    staging: () => openDatabase<unknown>(options.stagingUrl, newLayout.root),
  });
}

/**
 * Everything the steps use: the plan (the journal's on a resume, else built from production) and the
 * journal, which stays in memory until the preflight passed, so that a refused upgrade leaves nothing behind.
 */
async function createContext(
  options: UpgradeOptions,
  io: UpgradeIo,
  { oldLayout, newLayout }: UpgradeHomes,
  oldConfig: OldConfig,
  existing: Journal | undefined,
  connections: UpgradeConnections,
): Promise<UpgradeContext> {
  const production = () => connections.get('production');
  const staging = () => connections.get('staging');
  const plan = existing
    ? planToResume(existing, options, oldConfig)
    : await buildPlan(options, oldConfig, await production());
  const command = {
    fromHome: oldLayout.root,
    home: newLayout.root,
    stagingUrl: options.stagingUrl,
    to: options.to,
  };
  return {
    options,
    oldLayout,
    newLayout,
    oldConfig,
    plan,
    journal:
      existing ??
      Journal.create(
        undefined,
        command,
        plan,
        stepsFor(plan).map((step) => step.name),
      ),
    progress: io.progress,
    production,
    staging,
    closeConnections: () => connections.close(),
    abilities: resolveEngineAbilities(plan.kind),
    now: Date.now,
  };
}

/**
 * A new upgrade: records the plan, runs the preflight, asks the operator (unless --yes), and only then
 * writes the journal into the new home.
 */
async function startAfterPreflight(context: UpgradeContext, io: UpgradeIo, file: string): Promise<void> {
  const { plan, newLayout, options } = context;
  io.progress.line(describePlan(context));
  io.progress.line(describePath(context));
  await runStep(context, planStep, undefined);
  await runStep(context, preflightStep, undefined);
  if (!options.yes) {
    const go = io.confirm
      ? await io.confirm(`Upgrade ${plan.sourceRelease} -> ${plan.targetRelease} into ${newLayout.root}?`)
      : false;
    if (!go) {
      throw new TesseraError('BAD_USAGE', 'The upgrade was not confirmed; nothing was changed.', {
        hint: 'Pass --yes to run without a question, or --dry-run to preview.',
      });
    }
  }
  context.journal.attach(file);
}

function announceResume({ journal, progress, plan }: UpgradeContext): void {
  journal.markRunning();
  progress.line(
    `Resuming upgrade ${journal.data.id} at step ${journal.nextStep(stepsFor(plan))?.name ?? '(none)'}.`,
  );
}

/** Every step not done yet, in order; a step started before continues from what it recorded. */
async function runRemainingSteps(context: UpgradeContext): Promise<void> {
  const { journal } = context;
  const steps = stepsFor(context.plan);
  for (let step = journal.nextStep(steps); step !== undefined; step = journal.nextStep(steps)) {
    const record = journal.step(step);
    // The freeze step (re)makes the freeze itself; every later one needs it to hold. Its refusal is not
    // one that keeps production frozen: the freeze is gone already.
    if (step !== freezeStep) await assertStillFrozen(context, step);
    try {
      await runStep(context, step, record.attempts > 0 ? record.details : undefined);
    } catch (error) {
      throw whileFrozen(context, step, error);
    }
  }
}

/**
 * On the online path, once production is frozen every step works on a copy that is production only while
 * the freeze holds: before each step, the runner checks that production is still in this upgrade's
 * maintenance generation (an operator's `tessera maintenance off` meanwhile would let writes in).
 */
async function assertStillFrozen(context: UpgradeContext, step: Step): Promise<void> {
  const { journal } = context;
  const freeze = journal.data.freeze;
  if (freeze === undefined || freeze.releasedAt !== undefined) return;
  try {
    await assertFreezeHolds(await context.production(), freeze.generation, context.newLayout.root);
  } catch (error) {
    // Recorded against the step that could not start, so that the report says why the run stopped.
    journal.failStep(step, {
      code: isTesseraError(error) ? error.code : 'INTERNAL',
      message: (error as Error).message ?? String(error),
    });
    throw error;
  }
}

/**
 * A step that fails while production is frozen leaves it frozen: the staged work stays valid only as long
 * as production does not change, so the operator can resume. The message says so, and how to end it
 * instead. (The freeze step releases production itself when the nodes do not acknowledge.)
 */
function whileFrozen(context: UpgradeContext, step: Step, error: unknown): unknown {
  const freeze = context.journal.data.freeze;
  if (freeze === undefined || freeze.releasedAt !== undefined || step.name === 'promote') return error;
  const home = context.newLayout.root;
  const next = `Production stays in maintenance (logins and reads served, writes refused since ${new Date(freeze.startedAt).toISOString()}) so that this upgrade can go on: fix the cause and run the same command with --resume, or end it with tessera upgrade --abort --home ${home} (production then accepts writes again; its data was never changed).`;
  // An error that is not a TesseraError is a bug, but production is frozen all the same: say it too.
  const code = isTesseraError(error) ? error.code : 'INTERNAL';
  const hint = isTesseraError(error) ? error.hint : undefined;
  return new TesseraError(code, (error as Error).message ?? String(error), {
    hint: hint ? `${hint}\n${next}` : next,
    cause: error,
  });
}

/** Runs one step between its journal records (started, then done or failed) and its crash points. */
async function runStep<Details extends object>(
  context: UpgradeContext,
  step: Step<string, Details>,
  previous: Partial<Details> | undefined,
): Promise<void> {
  const { journal, progress } = context;
  crashPoint(`before:${step.name}`);
  journal.startStep(step);
  progress.line(`[${step.name}] ${step.title}`);
  try {
    const details = await step.run(context, previous);
    // The process's peak resident memory so far (it only grows): the step that raises it is the one to look at.
    journal.finishStep(step, { ...details, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  } catch (error) {
    journal.failStep(step, {
      code: isTesseraError(error) ? error.code : 'INTERNAL',
      message: (error as Error).message ?? String(error),
    });
    throw error;
  }
  crashPoint(`after:${step.name}`);
}

async function preview(context: UpgradeContext): Promise<NonNullable<UpgradeOutcome['dryRun']>> {
  const preflight = await runPreflightChecks(context);
  const steps = [];
  for (const step of stepsFor(context.plan)) {
    if (step === planStep) {
      steps.push({
        name: step.name,
        title: step.title,
        lines: [describePlan(context), describePath(context)],
      });
      continue;
    }
    steps.push({ name: step.name, title: step.title, lines: await step.describe(context) });
  }
  return { preflight, steps };
}

function describePlan(context: UpgradeContext): string {
  const { plan } = context;
  const rows = plan.tables.reduce((sum, t) => sum + t.rows, 0);
  return `Plan: ${plan.kind} production at ${plan.sourceRelease} -> ${plan.targetRelease} via ${plan.hops.join(' -> ')}; ${plan.tables.length} tables, ${rows.toLocaleString('en')} rows.`;
}

/** The path the plan chose, and why: the sentence the dry run, the run and the report give. */
function describePath({ plan }: UpgradeContext): string {
  const path = pathOf(plan);
  return `Path: ${path}: ${plan.path?.reason ?? 'the plan predates the online path'}.`;
}

function assertSameCommand(journal: Journal, options: UpgradeOptions): void {
  const recorded = journal.data.command;
  const differs =
    recorded.fromHome !== homeLayout(options.fromHome).root ||
    !sameRedactedUrl(recorded.stagingUrl, options.stagingUrl) ||
    (options.to !== undefined && recorded.to !== options.to);
  if (differs) {
    throw new TesseraError(
      'BAD_USAGE',
      'The journal records another upgrade (a different --from-home, --staging-db or --to).',
      {
        hint: `Resume with the same arguments: --from-home ${recorded.fromHome} --staging-db ${redactDatabaseUrl(recorded.stagingUrl)}${recorded.to ? ` --to ${recorded.to}` : ''} (the journal keeps no password: give --staging-db with it, as the first run had it)`,
      },
    );
  }
}

/** The journal holds URLs without their passwords (written by an earlier release: maybe with them). */
function sameRedactedUrl(recorded: string, given: string): boolean {
  return redactDatabaseUrl(recorded) === redactDatabaseUrl(given);
}

/**
 * The journal's plan with its database URLs whole again: staging's from `--staging-db` (checked by
 * assertSameCommand) and production's from the old home's config, which must still name the database
 * the run started on.
 */
function planToResume(journal: Journal, options: UpgradeOptions, oldConfig: OldConfig): UpgradePlan {
  const recorded = journal.data.plan;
  const productionUrl = oldConfig.databaseUrl;
  if (!sameRedactedUrl(recorded.productionUrl, productionUrl)) {
    throw new TesseraError(
      'BAD_USAGE',
      `${oldConfig.file} now names the database ${redactDatabaseUrl(productionUrl)}, not ${redactDatabaseUrl(recorded.productionUrl)} that this upgrade started on.`,
      { hint: "Put the old home's database.url back as it was, then resume." },
    );
  }
  return { ...recorded, productionUrl, stagingUrl: options.stagingUrl };
}
