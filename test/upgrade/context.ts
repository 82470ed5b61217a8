import path from 'node:path';
import { summarizeConfigFile } from '../../src/config/config-format.js';
import { type Database, dropDatabase, openDatabase } from '../../src/db/connection.js';
import { countRows, listTables } from '../../src/db/copy/tables.js';
import { resolveEngineAbilities } from '../../src/db/engine-abilities.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { homeLayout } from '../../src/home/layout.js';
import { createProgress, type Progress } from '../../src/progress/progress.js';
import { buildFixture, type FixtureSummary, storesDatabaseUrl } from '../../src/releases/fixtures/build.js';
import { CURRENT_RELEASE, upgradePath } from '../../src/releases/matrix.js';
import { readOldConfig } from '../../src/upgrade/build-plan.js';
import { UpgradeConnections } from '../../src/upgrade/connections.js';
import { Journal, journalPath } from '../../src/upgrade/journal.js';
import { STEP_NAMES } from '../../src/upgrade/steps/index.js';
import type { UpgradeContext, UpgradeOptions } from '../../src/upgrade/types.js';
import type { UpgradePlan } from '../../src/upgrade/upgrade-plan.js';
import { scratchDatabase } from '../helpers/databases.js';

export interface UpgradeFixtureOptions {
  /** The fixture's release: production's schema level and the plan's source release. */
  release: string;
  /** The plan's target release (default: the current one). */
  target?: string;
  /** The fixture's size (default: 2 tenants, 6 users). */
  tenants?: number;
  users?: number;
  /** Changes production after the fixture is built (edge-case rows), before the plan counts its tables. */
  prepare?: (production: Database<unknown>) => Promise<void>;
  /** `file` keeps the journal where the runner does (`<new home>/upgrade/journal.json`); default memory. */
  journal?: 'memory' | 'file';
  /** Default: a quiet progress. */
  progress?: Progress;
  /** Copy table by table even where the server could clone the database (`--no-clone`). */
  noClone?: boolean;
}

/**
 * One upgrade's world for step tests: an old home and production database built by the release's frozen
 * fixture (the SQLite database inside the old home, as a default install has it), an empty staging
 * database of the same engine (an absent SQLite file in the new home), a new home, a plan filled from
 * production, a journal and an UpgradeContext that opens each database once, as the runner does.
 */
export interface UpgradeFixture {
  kind: DatabaseKind;
  fixture: FixtureSummary;
  oldHome: string;
  newHome: string;
  productionUrl: string;
  stagingUrl: string;
  context: UpgradeContext;
  /** The same world seen by another attempt (a resumed run): same databases and journal unless overridden. */
  contextWith(
    overrides: Partial<Pick<UpgradeContext, 'journal' | 'progress' | 'plan' | 'options' | 'abilities'>>,
  ): UpgradeContext;
  /** Runs `cleanup` first when the fixture is disposed (for databases or files a test adds). */
  onDispose(cleanup: () => Promise<void> | void): void;
  /** Closes the connections, drops every database the fixture made and removes its folders. */
  dispose(): Promise<void>;
}

export async function createUpgradeFixture(
  kind: DatabaseKind,
  options: UpgradeFixtureOptions,
): Promise<UpgradeFixture> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const dispose = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  try {
    const production = await scratchDatabase(kind, 'prod');
    cleanups.push(() => production.drop());
    const oldHome = path.join(production.home, 'old');
    const newHome = path.join(production.home, 'new');
    const fixture = await buildFixture({
      release: options.release,
      home: oldHome,
      databaseUrl: kind === 'sqlite' ? undefined : production.url,
      tenants: options.tenants ?? 2,
      users: options.users ?? 6,
    });
    const productionUrl = summarizeConfigFile(homeLayout(oldHome).configFile).databaseUrl;
    if (kind !== 'sqlite')
      cleanups.push(() => dropDatabase(storesDatabaseUrl(productionUrl, oldHome), oldHome));
    let stagingUrl = 'sqlite:staging/tessera.db';
    if (kind !== 'sqlite') {
      const staging = await scratchDatabase(kind, 'staging');
      cleanups.push(() => staging.drop());
      stagingUrl = staging.url;
    }

    const connections = new UpgradeConnections({
      production: () => openDatabase<unknown>(productionUrl, oldHome),
      staging: () => openDatabase<unknown>(stagingUrl, newHome),
    });
    // Closed before the databases are dropped: cleanups run last in, first out.
    cleanups.push(() => connections.close());
    const productionDb = () => connections.get('production');
    if (options.prepare) await options.prepare(await productionDb());

    const target = options.target ?? CURRENT_RELEASE;
    const plan = await planFor(await productionDb(), {
      sourceRelease: options.release,
      targetRelease: target,
      oldConfigFormat: summarizeConfigFile(homeLayout(oldHome).configFile).format,
      productionUrl,
      stagingUrl,
    });
    const upgradeOptions: UpgradeOptions = {
      fromHome: oldHome,
      home: newHome,
      stagingUrl,
      to: target,
      dryRun: false,
      resume: false,
      yes: true,
      checkLogins: [],
      noClone: options.noClone === true,
    };
    const command = { fromHome: oldHome, home: newHome, stagingUrl, to: target };
    const journalFile = options.journal === 'file' ? journalPath(newHome) : undefined;
    const context: UpgradeContext = {
      options: upgradeOptions,
      oldLayout: homeLayout(oldHome),
      oldConfig: readOldConfig(homeLayout(oldHome).configFile),
      newLayout: homeLayout(newHome),
      plan,
      journal: Journal.create(journalFile, command, plan, STEP_NAMES),
      progress: options.progress ?? createProgress({ quiet: true }),
      production: productionDb,
      staging: () => connections.get('staging'),
      closeConnections: () => connections.close(),
      abilities: resolveEngineAbilities(plan.kind),
      now: () => Date.now(),
    };
    return {
      kind,
      fixture,
      oldHome,
      newHome,
      productionUrl,
      stagingUrl,
      context,
      contextWith: (overrides) => ({ ...context, ...overrides }),
      onDispose: (cleanup) => cleanups.push(cleanup),
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** The plan the plan step would make: the releases, the path between them and production's row counts. */
async function planFor(
  production: Database<unknown>,
  fields: Pick<
    UpgradePlan,
    'sourceRelease' | 'targetRelease' | 'oldConfigFormat' | 'productionUrl' | 'stagingUrl'
  >,
): Promise<UpgradePlan> {
  const tables = [];
  for (const table of await listTables(production)) {
    tables.push({ name: table.name, rows: await countRows(production, table.name) });
  }
  const hops =
    fields.sourceRelease === fields.targetRelease
      ? []
      : upgradePath(fields.sourceRelease, fields.targetRelease);
  return { ...fields, hops, kind: production.kind, tables };
}

export interface RecordedTask {
  label: string;
  total: number | undefined;
  /** The units of each `advance` call, in order. */
  advances: number[];
  summary?: string;
  done: boolean;
}

export interface RecordingProgress extends Progress {
  lines: string[];
  tasks: RecordedTask[];
}

/**
 * A Progress that remembers every line and task. With `interruptAt`, the first `advance` (or `done`) of a
 * task whose label matches throws, which stops a step right there as a crash would, for resume tests.
 */
export function recordingProgress(interruptAt?: { task: RegExp; on: 'advance' | 'done' }): RecordingProgress {
  const lines: string[] = [];
  const tasks: RecordedTask[] = [];
  let interrupted = false;
  const interrupt = (task: RecordedTask, on: 'advance' | 'done') => {
    if (!interrupted && interruptAt?.on === on && interruptAt.task.test(task.label)) {
      interrupted = true;
      throw new Error(`interrupted at ${on} of ${task.label}`);
    }
  };
  return {
    lines,
    tasks,
    line: (message) => lines.push(message),
    task(label, total) {
      const task: RecordedTask = { label, total, advances: [], done: false };
      tasks.push(task);
      return {
        advance(units) {
          task.advances.push(units);
          interrupt(task, 'advance');
        },
        done(summary) {
          interrupt(task, 'done');
          task.done = true;
          if (summary !== undefined) task.summary = summary;
        },
      };
    },
  };
}
