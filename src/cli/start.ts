import { Command } from 'commander';
import { showGeneratedPassword } from './generated-password.js';
import { resolveHome, runCommand } from './run.js';

/** How long a stopped server's process may take to exit on its own before it is ended. */
const EXIT_GRACE_MS = 1_000;

export function startCommand(): Command {
  return new Command('start')
    .description('run the server (home from --home, else TESSERA_HOME, else ./tessera-home)')
    .option('--home <dir>', 'the Tessera home folder')
    .action((options: { home?: string }) =>
      runCommand(async () => {
        // Loaded when it runs: every other command (the upgrade above all) stays clear of the server's heap.
        const { startServer } = await import('../server/start.js');
        const server = await startServer({
          home: resolveHome(options.home),
          onGeneratedPassword: showGeneratedPassword,
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
        // Everything is closed; a socket a driver still holds (a store server that accepted and never
        // answered) must not keep the stopped process alive. Unref'd: a clean exit does not wait for it.
        setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
      }),
    );
}
