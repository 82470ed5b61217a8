import type { ConfigFileContents } from '../config/config-format.js';
import type { Database } from '../db/connection.js';
import type { EngineAbilities } from '../db/engine-abilities.js';
import type { HomeLayout } from '../home/layout.js';
import type { Progress } from '../progress/progress.js';
import type { Journal } from './journal.js';
import type { ServerStarter } from './server-process/protocol.js';
import type { UpgradePlan } from './upgrade-plan.js';

export interface UpgradeOptions {
  /** The old home (production), read only until promote. */
  fromHome: string;
  /** The new home, created by the upgrade. */
  home: string;
  /** Where production is copied and migrated: `sqlite:PATH` (relative to the new home) or a server URL. */
  stagingUrl: string;
  /** Target release (default: the current one). */
  to?: string;
  dryRun: boolean;
  resume: boolean;
  /** Skip the confirmation prompt. */
  yes: boolean;
  /** `name:password` pairs of existing users the smoke test logs in with, as the operator knows them. */
  checkLogins: { username: string; password: string }[];
  /**
   * Copy table by table even where the server could clone the whole database itself (`--no-clone`), e.g.
   * to keep a template copy's write-ahead log off a busy server.
   */
  noClone?: boolean;
  /**
   * Let the upgrade promote although apps do not start on the new release (`--allow-app-failures`): the
   * smoke test records them as warnings instead of stopping before promote. Read on each run, a resume too.
   */
  allowAppFailures?: boolean;
}

/** The old home's config as the upgrade reads it: never validated by this release's rules, never changed. */
export interface OldConfig extends ConfigFileContents {
  /** `[cluster] heartbeat_seconds` as the old nodes read it (the key table's default when absent). */
  heartbeatSeconds: number;
}

/** Everything a step may use. Steps never call each other: they read what earlier steps left in the journal. */
export interface UpgradeContext {
  options: UpgradeOptions;
  oldLayout: HomeLayout;
  newLayout: HomeLayout;
  /** The old home's config, read once when the run starts: the plan, the preflight and configure use it. */
  oldConfig: OldConfig;
  plan: UpgradePlan;
  journal: Journal;
  progress: Progress;
  /** Opened on first use and closed by the runner. Production is only ever read before promote. */
  production(): Promise<Database<unknown>>;
  staging(): Promise<Database<unknown>>;
  /** Closes both connections (the next `production()` or `staging()` opens them again). */
  closeConnections(): Promise<void>;
  /** What production's engine offers beyond every dialect's basics, resolved once when the run starts. */
  abilities: EngineAbilities;
  now(): number;
  /**
   * Starts the new release for the smoke test and promote. Absent: in a child process (spawnServerProcess),
   * so that no step imports the server or runs it on top of the upgrade's own heap.
   */
  startServer?: ServerStarter;
}

/** One line of a dry run or a preflight: what was checked or would be done. */
export interface CheckResult {
  name: string;
  ok: boolean;
  message: string;
  /** What to do when not ok. */
  hint?: string;
  /** The check could not tell either way (passed only when the operator gave --yes); printed as `unknown`. */
  unknown?: boolean;
}

/**
 * One step of the upgrade. `Details` is what it records in the journal (JSON only): later steps, the report
 * and a resumed attempt read it back through the journal, typed, by handing the journal this step.
 */
export interface Step<Name extends string = string, Details extends object = object> {
  readonly name: Name;
  readonly title: string;
  /** The dry run's account of what this step would do; must change nothing anywhere. */
  describe(context: UpgradeContext): Promise<string[]>;
  /**
   * Does the work. `previous` is what an interrupted earlier attempt of this step recorded (as far as it
   * got), so that the step can continue rather than start over. Throws a TesseraError to stop the run.
   */
  run(context: UpgradeContext, previous: Partial<Details> | undefined): Promise<Details>;
}
