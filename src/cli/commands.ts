import { Command } from 'commander';

/** A command as `tessera --help` lists it, and how to load the module that runs it. */
export interface CommandEntry {
  readonly name: string;
  /** The loaded command's description (a test holds the two equal). */
  readonly description: string;
  /** How help shows the loaded command: its name, then `[options]` when it has any. */
  readonly term: string;
  load(): Promise<Command>;
}

/** Every command but `version`, in the order help lists them; each module is imported only by `load`. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'start',
    description: 'run the server (home from --home, else TESSERA_HOME, else ./tessera-home)',
    term: 'start [options]',
    load: () => import('./start.js').then((m) => m.startCommand()),
  },
  {
    name: 'init',
    description:
      'lay out a new home, its config and its database with the super tenant admin, as a first start does, without starting the server',
    term: 'init [options]',
    load: () => import('./init.js').then((m) => m.initCommand()),
  },
  {
    name: 'status',
    description: "show the home's database type and schema level, and whether they match this release",
    term: 'status [options]',
    load: () => import('./status.js').then((m) => m.statusCommand()),
  },
  {
    name: 'cluster',
    description: 'the nodes that share this home’s database',
    term: 'cluster',
    load: () => import('./cluster.js').then((m) => m.clusterCommand()),
  },
  {
    name: 'maintenance',
    description: 'refuse every write on every node (reads and logins keep working), or accept them again',
    term: 'maintenance',
    load: () => import('./maintenance.js').then((m) => m.maintenanceCommand()),
  },
  {
    name: 'fixture',
    description: 'build a realistic home and database as a given release would have left them',
    term: 'fixture [options]',
    load: () => import('./fixture.js').then((m) => m.fixtureCommand()),
  },
  {
    name: 'upgrade',
    description:
      'upgrade a home and its database to this release: plan, preflight, backup, stage, migrate, check, configure, smoke test, promote',
    term: 'upgrade [options]',
    load: () => import('./upgrade.js').then((m) => m.upgradeCommand()),
  },
  {
    name: 'export',
    description:
      "write a home's database, config, deployment and tenant folders to one .tar.gz, for tessera import into another home of the same release",
    term: 'export [options]',
    load: () => import('./export.js').then((m) => m.exportCommand()),
  },
  {
    name: 'import',
    description:
      'restore a tessera export into a home of the same release whose database is empty or fresh from a first start',
    term: 'import [options]',
    load: () => import('./import.js').then((m) => m.importCommand()),
  },
];

const listed = new WeakMap<Command, CommandEntry>();

/**
 * A stand-in that only names and describes `entry`, for help and for commander's "unknown command"
 * suggestions, when the arguments run another command.
 */
export function listedCommand(entry: CommandEntry): Command {
  const command = new Command(entry.name).description(entry.description);
  listed.set(command, entry);
  return command;
}

/** How help shows `command` when it is a stand-in from listedCommand. */
export function listedTerm(command: Command): string | undefined {
  return listed.get(command)?.term;
}
