import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { TesseraError } from '../errors.js';
import { createProgress } from '../progress/progress.js';
import { loadReportJournal, readFirstServing, withServedOutage } from '../upgrade/first-serving.js';
import { type Journal, redactJournal } from '../upgrade/journal.js';
import { renderReport } from '../upgrade/report.js';
import { runUpgrade, type UpgradeOutcome } from '../upgrade/runner.js';
import type { UpgradeOptions } from '../upgrade/types.js';
import { runCommand } from './run.js';

interface UpgradeFlags {
  fromHome?: string;
  home?: string;
  stagingDb?: string;
  to?: string;
  dryRun?: boolean;
  resume?: boolean;
  yes?: boolean;
  /** commander sets it false for --no-clone. */
  clone?: boolean;
  allowAppFailures?: boolean;
  abort?: boolean;
  checkLogin: string[];
}

export function upgradeCommand(): Command {
  const command = new Command('upgrade')
    .enablePositionalOptions()
    .description(
      'upgrade a home and its database to this release: plan, preflight, backup, stage, migrate, check, configure, smoke test, promote',
    );
  declareUpgradeFlags(command).action((flags: UpgradeFlags) =>
    runCommand(() => (flags.abort ? abort(flags) : upgrade(flags))),
  );
  // Made with `command()`, so that it inherits the parent's settings.
  declareReportCommand(command.command('report'));
  return command;
}

function declareUpgradeFlags(command: Command): Command {
  return command
    .option('--from-home <dir>', 'the old home (production); read only until promote')
    .option('--home <dir>', 'the new home to create')
    .option(
      '--staging-db <url>',
      'an empty database of the same type to copy production into (sqlite:PATH is relative to the new home)',
    )
    .option('--to <release>', 'the target release (default: this one)')
    .option(
      '--dry-run',
      'print the plan, every preflight result, the scripts and config changes; change nothing',
    )
    .option('--resume', 'continue an interrupted upgrade from its journal')
    .option(
      '--abort',
      'end an upgrade that has not promoted: production leaves the maintenance the upgrade put it in, the journal is marked aborted (needs only --home)',
    )
    .option('--yes', 'do not ask for confirmation')
    .option(
      '--no-clone',
      'copy table by table even where the database server could clone production itself (PostgreSQL template copy)',
    )
    .option(
      '--allow-app-failures',
      'promote even if apps do not start on the new release: the smoke test records them as warnings instead of stopping the upgrade (also with --resume)',
    )
    .option(
      '--check-login <user:password>',
      'an existing user the smoke test must log in as (repeatable)',
      collect,
      [],
    );
}

/** Runs, resumes or previews the upgrade; the exit code. */
async function upgrade(flags: UpgradeFlags): Promise<number> {
  const outcome = await runUpgrade(upgradeOptions(flags), {
    progress: createProgress(),
    confirm: process.stdin.isTTY ? ask : undefined,
  });
  if (outcome.rollingRestart) {
    process.stdout.write(`${outcome.rollingRestart.join('\n')}\n`);
    return 0;
  }
  if (outcome.dryRun) return printDryRun(outcome.dryRun);
  printUpgradeReport(outcome.journal);
  return 0;
}

/** `tessera upgrade --abort --home NEW`: says what it did and what is left to the operator. */
async function abort(flags: UpgradeFlags): Promise<number> {
  if (!flags.home)
    throw new TesseraError('BAD_USAGE', 'tessera upgrade --abort needs --home.', {
      hint: 'tessera upgrade --abort --home NEW (the new home of the upgrade to abort)',
    });
  if (flags.resume || flags.dryRun)
    throw new TesseraError('BAD_USAGE', '--abort cannot be combined with --resume or --dry-run.', {
      hint: 'tessera upgrade --abort --home NEW',
    });
  const { abortUpgrade } = await import('../upgrade/abort.js');
  const outcome = await abortUpgrade(flags.home);
  process.stdout.write(`${outcome.lines.join('\n')}\n`);
  return 0;
}

/** `tessera upgrade report`: the journal of an upgrade, rendered or as JSON. */
function declareReportCommand(report: Command): void {
  report
    .description('render the journal of an upgrade into --home')
    .option('--home <dir>', 'the new home of the upgrade')
    .option('--json', 'print the journal as JSON')
    .action((flags: { home?: string; json?: boolean }) =>
      runCommand(async () => {
        if (!flags.home)
          throw new TesseraError('BAD_USAGE', 'tessera upgrade report needs --home.', {
            hint: 'tessera upgrade report --home NEW',
          });
        // The outage as it stands now: open until a node of the new release served, then ended by it.
        // Redacted again: a journal written by an earlier release still holds the passwords.
        const journal = redactJournal(loadReportJournal(flags.home));
        process.stdout.write(flags.json ? `${JSON.stringify(journal, null, 2)}\n` : renderReport(journal));
      }),
    );
}

function upgradeOptions(flags: UpgradeFlags): UpgradeOptions {
  if (!flags.fromHome || !flags.home || !flags.stagingDb) {
    throw new TesseraError('BAD_USAGE', 'tessera upgrade needs --from-home, --home and --staging-db.', {
      hint: 'tessera upgrade --from-home OLD --home NEW --staging-db URL [--dry-run]',
    });
  }
  return {
    fromHome: flags.fromHome,
    home: flags.home,
    stagingUrl: flags.stagingDb,
    to: flags.to,
    dryRun: flags.dryRun === true,
    resume: flags.resume === true,
    yes: flags.yes === true,
    checkLogins: flags.checkLogin.map(parseLogin),
    noClone: flags.clone === false,
    allowAppFailures: flags.allowAppFailures === true,
  };
}

/** Prints every preflight result and each step's account; exit code 2 when a check failed. */
function printDryRun(dryRun: NonNullable<UpgradeOutcome['dryRun']>): number {
  const out: string[] = ['Dry run: nothing was changed.', '', 'Preflight:'];
  for (const check of dryRun.preflight) {
    out.push(
      `  ${check.unknown ? 'unknown' : check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.message}${check.ok || !check.hint ? '' : `\n         next: ${check.hint}`}`,
    );
  }
  for (const step of dryRun.steps) {
    out.push('', `[${step.name}] ${step.title}`, ...step.lines.map((line) => `  ${line}`));
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return dryRun.preflight.every((check) => check.ok) ? 0 : 2;
}

/** The finished upgrade's report, its outage as it stands (open until a node of the new release serves). */
function printUpgradeReport(journal: Journal): void {
  process.stdout.write(
    renderReport(withServedOutage(journal.data, readFirstServing(journal.data.command.home))),
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseLogin(value: string): { username: string; password: string } {
  const colon = value.indexOf(':');
  if (colon <= 0)
    throw new TesseraError(
      'BAD_USAGE',
      `--check-login "${value.split(':')[0]}" needs the form user:password.`,
    );
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

async function ask(question: string): Promise<boolean> {
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await readline.question(`${question} [y/N] `)).trim());
  } finally {
    readline.close();
  }
}
