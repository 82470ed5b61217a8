import { Command } from 'commander';
import { redactDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import {
  buildFixture,
  DEFAULT_FIXTURE_DATABASE_URL,
  DEFAULT_FIXTURE_PASSWORD,
  DEFAULT_FIXTURE_SIZE,
  type FixtureSummary,
} from '../releases/fixtures/build.js';
import { FIXTURE_RELEASES, fixtureGenerator } from '../releases/fixtures/generators.js';
import type { LoadProgress } from '../releases/fixtures/loader.js';
import { resolveHome, runCommand } from './run.js';

interface FixtureCommandOptions {
  release: string;
  home?: string;
  db: string;
  tenants: string;
  users: string;
  password: string;
}

/** `tessera fixture`: a realistic home and database at an older (or the current) release (README, Releases). */
export function fixtureCommand(): Command {
  return new Command('fixture')
    .description('build a realistic home and database as a given release would have left them')
    .requiredOption('--release <version>', `release to build (${FIXTURE_RELEASES.join(', ')})`)
    .option('--home <dir>', 'home folder to create (default: TESSERA_HOME, else ./tessera-home)')
    .option(
      '--db <url>',
      'an empty database: sqlite:PATH, postgres://... or mysql://...',
      DEFAULT_FIXTURE_DATABASE_URL,
    )
    .option('--tenants <n>', 'tenants besides the super tenant', String(DEFAULT_FIXTURE_SIZE.tenants))
    .option(
      '--users <n>',
      'regular users over all tenants (admins come on top)',
      String(DEFAULT_FIXTURE_SIZE.users),
    )
    .option('--password <pw>', 'password of every account the fixture creates', DEFAULT_FIXTURE_PASSWORD)
    .action((options: FixtureCommandOptions) =>
      runCommand(async () => {
        // Check everything the operator typed before touching any database.
        fixtureGenerator(options.release);
        const tenants = parseCount('--tenants', options.tenants);
        const users = parseCount('--users', options.users);
        const summary = await buildFixture({
          release: options.release,
          home: resolveHome(options.home),
          databaseUrl: options.db,
          tenants,
          users,
          password: options.password,
          onProgress: printProgress,
        });
        process.stdout.write(renderSummary(summary));
      }),
    );
}

function parseCount(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw new TesseraError('BAD_USAGE', `${flag} must be a whole number of 0 or more, not "${raw}".`, {
      hint: `Pass ${flag} N, e.g. ${flag} 10.`,
    });
  }
  return Number(raw);
}

/** Plain lines on stderr, so stdout keeps only the summary. */
function printProgress(progress: LoadProgress): void {
  const state = progress.done ? 'done' : '...';
  const seconds = (progress.elapsedMs / 1000).toFixed(1);
  process.stderr.write(
    `  ${progress.database}.${progress.table}: ${progress.rows.toLocaleString('en-US')} rows ${state} (${seconds} s)\n`,
  );
}

function renderSummary(summary: FixtureSummary): string {
  const accounts = summary.users + summary.admins;
  const lines = [
    `Tessera ${summary.release} fixture in ${summary.home}`,
    `  database:  ${summary.databaseUrl}`,
    `  stores:    ${summary.storesUrl} (${summary.partnerStores} PARTNERS stores, ${summary.partnerUsers} users)`,
    `  tenants:   ${summary.tenants} + the super tenant`,
    `  users:     ${summary.users} regular + ${summary.admins} admins = ${accounts} accounts`,
    `  took:      ${(summary.durationMs / 1000).toFixed(1)} s`,
    '',
  ];
  return redactDatabaseUrl(lines.join('\n'));
}
