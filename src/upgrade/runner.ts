import { existsSync } from 'node:fs';
import { summarizeConfigFile } from '../config/config-format.js';
import { openDatabase } from '../db/connection.js';
import { redactDatabaseUrl } from '../db/url.js';
import { isTesseraError, TesseraError } from '../errors.js';
import { type HomeLayout, homeLayout } from '../home/layout.js';
import { tightenHome } from '../home/private-modes.js';
import type { Progress } from '../progress/progress.js';
import { buildPlan, openProduction } from './build-plan.js';
import { UpgradeConnections } from './connections.js';
import { crashPoint } from './crash.js';
import { resolveEngineAbilities } from '../db/engine-abilities.js';
import { Journal, journalPath } from './journal.js';
import { UPGRADE_STEPS } from './steps/index.js';
import { runPreflightChecks } from './steps/preflight/preflight.js';
import type { CheckResult, StepName, UpgradeContext, UpgradeOptions, UpgradePlan } from './types.js';

export interface UpgradeIo {
  progress: Progress;
  /** Asks the operator to go on; resolves false to stop. Absent: refuse unless --yes. */
  confirm?: (question: string) => Promise<boolean>;
}

export interface UpgradeOutcome {
  journal: Journal;
  /** For a dry run: every preflight result and each step's account of what it would do. */
  dryRun?: { preflight: CheckResult[]; steps: { name: StepName; title: string; lines: string[] }[] };
}

/**
 * Runs (or resumes, or previews) the staged upgrade (docs/architecture.md, The upgrade). The runner alone knows the order of the
 * steps and the journal; each step reads what earlier steps recorded and records its own facts.
 */
export async function runUpgrade(options: UpgradeOptions, io: UpgradeIo): Promise<UpgradeOutcome> {
  const oldLayout = homeLayout(options.fromHome);
  const newLayout = homeLayout(options.home);
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
  const file = journalPath(newLayout.root);
  const existing = existsSync(file) ? Journal.load(file) : undefined;
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

  const connections = new UpgradeConnections({
    production: () => openProduction(oldLayout),
    staging: () => openDatabase<unknown>(options.stagingUrl, newLayout.root),
  });
  const production = () => connections.get('production');
  const staging = () => connections.get('staging');

  try {
    const plan = existing
      ? planToResume(existing, options, oldLayout)
      : await buildPlan(options, oldLayout, await production());
    const command = {
      fromHome: oldLayout.root,
      home: newLayout.root,
      stagingUrl: options.stagingUrl,
      to: options.to,
    };
    // Until the preflight passed, the journal lives in memory: a refused upgrade leaves nothing behind.
    const journal = existing ?? Journal.create(undefined, command, plan);
    const context: UpgradeContext = {
      options,
      oldLayout,
      newLayout,
      plan,
      journal,
      progress: io.progress,
      production,
      staging,
      closeConnections: () => connections.close(),
      abilities: resolveEngineAbilities(plan.kind),
      now: Date.now,
    };

    if (options.dryRun) return { journal, dryRun: await preview(context) };

    if (!existing) {
      io.progress.line(describePlan(context));
      await runStep(context, 'plan', async () => ({ ...plan }));
      await runStep(context, 'preflight', () => stepNamed('preflight').run(context, undefined));
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
      journal.attach(file);
    } else {
      journal.markRunning();
      io.progress.line(`Resuming upgrade ${journal.data.id} at step ${journal.nextStep() ?? '(none)'}.`);
    }

    for (let name = journal.nextStep(); name !== undefined; name = journal.nextStep()) {
      const step = stepNamed(name);
      const previous = journal.step(name).attempts > 0 ? journal.step(name).details : undefined;
      await runStep(context, name, () => step.run(context, previous));
    }
    // Copies keep their source's mode (an old home's 0644 store files): the new home is closed off whole.
    tightenHome(newLayout.root);
    journal.complete();
    return { journal };
  } finally {
    await connections.close();
  }
}

async function runStep(
  context: UpgradeContext,
  name: StepName,
  work: () => Promise<Record<string, unknown>>,
): Promise<void> {
  const { journal, progress } = context;
  const step = stepNamed(name);
  crashPoint(`before:${name}`);
  journal.startStep(name);
  progress.line(`[${name}] ${step.title}`);
  try {
    const details = await work();
    // The process's peak resident memory so far (it only grows): the step that raises it is the one to look at.
    journal.finishStep(name, { ...details, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  } catch (error) {
    journal.failStep(name, {
      code: isTesseraError(error) ? error.code : 'INTERNAL',
      message: (error as Error).message ?? String(error),
    });
    throw error;
  }
  crashPoint(`after:${name}`);
}

async function preview(context: UpgradeContext): Promise<NonNullable<UpgradeOutcome['dryRun']>> {
  const preflight = await runPreflightChecks(context);
  const steps = [];
  for (const step of UPGRADE_STEPS) {
    if (step.name === 'plan') {
      steps.push({ name: step.name, title: step.title, lines: [describePlan(context)] });
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

function stepNamed(name: StepName) {
  const step = UPGRADE_STEPS.find((s) => s.name === name);
  if (!step) throw new Error(`no upgrade step ${name}`);
  return step;
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
function planToResume(journal: Journal, options: UpgradeOptions, oldLayout: HomeLayout): UpgradePlan {
  const recorded = journal.data.plan;
  const productionUrl = summarizeConfigFile(oldLayout.configFile).databaseUrl;
  if (!sameRedactedUrl(recorded.productionUrl, productionUrl)) {
    throw new TesseraError(
      'BAD_USAGE',
      `${oldLayout.configFile} now names the database ${redactDatabaseUrl(productionUrl)}, not ${redactDatabaseUrl(recorded.productionUrl)} that this upgrade started on.`,
      { hint: "Put the old home's database.url back as it was, then resume." },
    );
  }
  return { ...recorded, productionUrl, stagingUrl: options.stagingUrl };
}
