import { Command } from 'commander';
import { summarizeConfigFile } from '../config/config-format.js';
import { homeLayout } from '../home/layout.js';
import { inspectSchema } from '../releases/guard.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';
import { withHomeDatabase } from './home-database.js';
import { resolveHome, runCommand } from './run.js';

const HINTS: Record<string, string> = {
  older: 'Upgrade it: tessera upgrade --from-home OLD --home NEW --staging-db URL',
  newer: 'Run the newer Tessera release that wrote it.',
  tampered: 'Restore the database from a Tessera backup.',
  incomplete: 'Finish the interrupted upgrade with --resume.',
  retired: 'This database was replaced by an upgrade; use the upgraded one.',
  foreign: 'Point database.url at a Tessera database.',
};

export function statusCommand(): Command {
  return new Command('status')
    .description("show the home's database type and schema level, and whether they match this release")
    .option('--home <dir>', 'the Tessera home folder')
    .option('--json', 'print JSON')
    .action((options: { home?: string; json?: boolean }) =>
      runCommand(async () => {
        const layout = homeLayout(resolveHome(options.home));
        const summary = summarizeConfigFile(layout.configFile);
        return withHomeDatabase(summary.databaseUrl, layout.root, async (database) => {
          const state = await inspectSchema(database);
          const level = 'level' in state ? (state.level ?? 'none') : 'none';
          const matches = state.status === 'current';
          if (options.json) {
            process.stdout.write(
              `${JSON.stringify({ database: database.kind, url: database.label, configFormat: summary.format, schemaLevel: level, release: CURRENT_RELEASE, state: state.status, matches })}\n`,
            );
          } else {
            process.stdout.write(
              [
                `home:          ${layout.root}`,
                `config format: ${summary.format}`,
                `database:      ${database.kind} (${database.label})`,
                `schema level:  ${level}`,
                `this release:  ${CURRENT_RELEASE}`,
                `state:         ${state.status}${matches ? ' (matches)' : ' (does not match)'}`,
                '',
              ].join('\n'),
            );
          }
          if (!matches && state.status !== 'empty') {
            const hint = HINTS[state.status];
            if (hint) process.stderr.write(`next: ${hint}\n`);
            return 2;
          }
          return undefined;
        });
      }),
    );
}
