import { Command } from 'commander';
import { createProgress } from '../progress/progress.js';
import { exportHome } from '../transfer/export.js';
import { resolveHome, runCommand } from './run.js';

export function exportCommand(): Command {
  return new Command('export')
    .description(
      "write a home's database, config, deployment and tenant folders to one .tar.gz, for tessera import into another home of the same release",
    )
    .option('--home <dir>', 'the Tessera home folder')
    .requiredOption('--out <file>', 'the .tar.gz to write')
    .action((options: { home?: string; out: string }) =>
      runCommand(async () => {
        const summary = await exportHome({
          home: resolveHome(options.home),
          out: options.out,
          progress: createProgress(),
        });
        const { manifest } = summary;
        process.stdout.write(
          [
            `Exported ${manifest.source.home} (Tessera ${manifest.release}, ${manifest.kind}) to ${summary.file}`,
            `  database: ${manifest.database.tables} tables, ${manifest.database.rows.toLocaleString('en')} rows, verified`,
            `  folders:  ${manifest.folders.join(', ') || 'none'}${manifest.storeDatabases.length > 0 ? `; store databases: ${manifest.storeDatabases.join(', ')}` : ''}`,
            `  size:     ${summary.bytes.toLocaleString('en')} bytes in ${(summary.durationMs / 1000).toFixed(1)} s`,
            '',
          ].join('\n'),
        );
      }),
    );
}
