import { Command } from 'commander';
import { createProgress } from '../progress/progress.js';
import { importHome } from '../transfer/import.js';
import { resolveHome, runCommand } from './run.js';

export function importCommand(): Command {
  return new Command('import')
    .description(
      'restore a tessera export into a home of the same release whose database is empty or fresh from a first start',
    )
    .option('--home <dir>', 'the Tessera home folder')
    .requiredOption('--in <file>', 'the .tar.gz written by tessera export')
    .action((options: { home?: string; in: string }) =>
      runCommand(async () => {
        const summary = await importHome({
          home: resolveHome(options.home),
          input: options.in,
          progress: createProgress(),
        });
        const rows = Object.values(summary.tables).reduce((sum, n) => sum + n, 0);
        process.stdout.write(
          [
            `Imported ${summary.file} (Tessera ${summary.manifest.release}, ${summary.manifest.kind}) into ${resolveHome(options.home)}`,
            `  database: ${Object.keys(summary.tables).length} tables, ${rows.toLocaleString('en')} rows, each verified against the export`,
            `  files:    ${summary.files} restored`,
            ...(summary.exportedConfig
              ? [`  config:   conf/tessera.toml kept; the exported one is ${summary.exportedConfig}`]
              : []),
            // The admin password the operator was shown (or chose) for this home is gone with its rows.
            summary.replacedFirstStart
              ? "The super tenant's admin now has the password it had in the exported home; the password generated (or set through TESSERA_ADMIN_PASSWORD) when this home was created no longer works."
              : "The super tenant's admin has the password it had in the exported home.",
            '',
          ].join('\n'),
        );
      }),
    );
}
