import { Command, CommanderError, Help } from 'commander';
import { restrictUmask } from '../home/private-modes.js';
import { PACKAGE_VERSION } from '../package-root.js';
import { CURRENT_SCHEMA_LEVEL } from '../releases/matrix.js';
import { COMMANDS, type CommandEntry, listedCommand, listedTerm } from './commands.js';

/**
 * Each command lives in its own module and is loaded only when it runs: the modules behind them (the
 * server, the database drivers, the upgrade) take over a second to load, which `tessera version` and
 * `tessera --help` have no use for.
 */
export async function main(argv: string[]): Promise<void> {
  // Whatever a command creates in a home is the owner's alone (see src/home/private-modes.ts).
  restrictUmask();
  const program = new Command('tessera')
    .description('Tessera: a multi-tenant application server with safe, staged, verifiable upgrades')
    .exitOverride()
    // `upgrade --home` and `upgrade report --home` each own their --home.
    .enablePositionalOptions()
    .showHelpAfterError('(run tessera --help for usage)')
    // A command only listed has no options of its own to show: its entry says how the real one reads.
    .configureHelp({
      subcommandTerm: (command) => listedTerm(command) ?? new Help().subcommandTerm(command),
    });

  program
    .command('version')
    .description('print the Tessera version and the schema level it runs on')
    .action(() => {
      process.stdout.write(`tessera ${PACKAGE_VERSION} (schema level ${CURRENT_SCHEMA_LEVEL})\n`);
    });

  const wanted = commandToLoad(argv.slice(2));
  for (const entry of COMMANDS) {
    const command = entry === wanted ? await entry.load() : listedCommand(entry);
    program.addCommand(inheritSettings(command, program));
  }

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

/**
 * `command` and every command under it take the settings of the one above (exitOverride above all, so that
 * bad usage of `tessera cluster status` exits 2 like any other), whichever way they were made.
 */
function inheritSettings(command: Command, parent: Command): Command {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) inheritSettings(sub, command);
  return command;
}

/** The command the arguments run (`tessera help X` shows X's help, so X is loaded), if any. */
function commandToLoad(args: string[]): CommandEntry | undefined {
  const [first, second] = args;
  const name = first === 'help' ? second : first;
  return COMMANDS.find((entry) => entry.name === name);
}
