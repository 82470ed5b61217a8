import { Command, CommanderError } from 'commander';
import { restrictUmask } from '../home/private-modes.js';
import { PACKAGE_VERSION } from '../package-root.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';

/** Each command lives in its own module and is loaded only when it runs, so `tessera version` stays instant. */
export async function main(argv: string[]): Promise<void> {
  // Whatever a command creates in a home is the owner's alone (see src/home/private-modes.ts).
  restrictUmask();
  const program = new Command('tessera')
    .description('Tessera: a multi-tenant application server with safe, staged, verifiable upgrades')
    .exitOverride()
    // `upgrade --home` and `upgrade report --home` each own their --home.
    .enablePositionalOptions()
    .showHelpAfterError('(run tessera --help for usage)');

  program
    .command('version')
    .description('print the Tessera version and the schema level it runs on')
    .action(() => {
      process.stdout.write(`tessera ${PACKAGE_VERSION} (schema level ${CURRENT_RELEASE})\n`);
    });

  const commands = await Promise.all([
    import('./start.js').then((m) => m.startCommand()),
    import('./status.js').then((m) => m.statusCommand()),
    import('./cluster.js').then((m) => m.clusterCommand()),
    import('./fixture.js').then((m) => m.fixtureCommand()),
    import('./upgrade.js').then((m) => m.upgradeCommand()),
    import('./export.js').then((m) => m.exportCommand()),
    import('./import.js').then((m) => m.importCommand()),
  ]);
  for (const command of commands) program.addCommand(command.copyInheritedSettings(program));

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version output end with code 0; everything else commander refuses is bad usage.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    throw error;
  }
}
