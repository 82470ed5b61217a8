import { Command } from 'commander';
import { resolveHome, runCommand } from './run.js';

export function startCommand(): Command {
  return new Command('start')
    .description('run the server (home from --home, else TESSERA_HOME, else ./tessera-home)')
    .option('--home <dir>', 'the Tessera home folder')
    .action((options: { home?: string }) =>
      runCommand(async () => {
        // Loaded when it runs: every other command (the upgrade above all) stays clear of the server's heap.
        const { startServer } = await import('../server/server.js');
        const server = await startServer({
          home: resolveHome(options.home),
          onGeneratedPassword: (password) => {
            // Shown once, on the terminal only: it is never written to the logs.
            process.stdout.write(
              `\nThe super tenant admin was created.\n  username: admin\n  password: ${password}\nKeep it now: it is not shown again.\n\n`,
            );
          },
        });
        process.stderr.write(`Tessera listening on ${server.url} (home ${server.context.layout.root})\n`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            server.close().then(resolve, resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );
}
