import { Command } from 'commander';
import { initHome } from '../server/init-home.js';
import { showGeneratedPassword } from './generated-password.js';
import { resolveHome, runCommand } from './run.js';

/** `tessera init`: a new home, its config and database, ready for `tessera start` or `tessera import`. */
export function initCommand(): Command {
  return new Command('init')
    .description(
      'lay out a new home, its config and its database with the super tenant admin, as a first start does, without starting the server',
    )
    .option('--home <dir>', 'the home folder to create (default: TESSERA_HOME, else ./tessera-home)')
    .option(
      '--db <url>',
      'an empty database: sqlite:PATH, postgres://... or mysql://... (default: embedded SQLite)',
    )
    .action((options: { home?: string; db?: string }) =>
      runCommand(async () => {
        const summary = await initHome({
          home: resolveHome(options.home),
          databaseUrl: options.db,
          onGeneratedPassword: showGeneratedPassword,
        });
        process.stdout.write(
          [
            `Tessera home created in ${summary.home}`,
            `  config:   ${summary.configFile}`,
            `  database: ${summary.database}, at the current release, with the super tenant's admin`,
            `Run it with: tessera start --home ${summary.home}`,
            '',
          ].join('\n'),
        );
      }),
    );
}
