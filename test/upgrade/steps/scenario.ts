import { createHash } from 'node:crypto';
import path from 'node:path';
import { sql } from 'kysely';
import { summarizeConfigFile } from '../../../src/config/config-format.js';
import { type Database, dropDatabase, openDatabase } from '../../../src/db/connection.js';
import { resolveEngineAbilities } from '../../../src/db/engine-abilities.js';
import { type DatabaseKind, parseDatabaseUrl } from '../../../src/db/url.js';
import { homeLayout } from '../../../src/home/layout.js';
import type { Progress } from '../../../src/progress/progress.js';
import { captureSchema } from '../../../src/releases/expected-schema.js';
import { buildFixture, storesDatabaseUrl } from '../../../src/releases/fixtures/build.js';
import { CURRENT_RELEASE, upgradePath } from '../../../src/releases/matrix.js';
import { readOldConfig } from '../../../src/upgrade/build-plan.js';
import { UpgradeConnections } from '../../../src/upgrade/connections.js';
import { Journal } from '../../../src/upgrade/journal.js';
import { STEP_NAMES } from '../../../src/upgrade/steps/index.js';
import type { UpgradeContext } from '../../../src/upgrade/types.js';
import type { UpgradePlan } from '../../../src/upgrade/upgrade-plan.js';
import { type ScratchDatabase, scratchDatabase } from '../../helpers/databases.js';

/**
 * The world one upgrade step sees, built for a test: an old home and production database made by the
 * release's frozen fixture, a staging URL and an absent new home, and an UpgradeContext over them that
 * opens each database once, as the runner does. Everything lives in fresh scratch databases and folders.
 */
export interface StepScenario {
  kind: DatabaseKind;
  context: UpgradeContext;
  oldHome: string;
  newHome: string;
  productionUrl: string;
  /** Lines and finished tasks the step printed. */
  output: string[];
  /** A folder of this scenario outside both homes, removed with it. */
  scratchDir: string;
  /** Runs `cleanup` when the scenario is disposed (databases made by the test). */
  onDispose(cleanup: () => Promise<void>): void;
  dispose(): Promise<void>;
}

export interface ScenarioOptions {
  /** The fixture's release (production's level). */
  release: string;
  /** Default: the current release. */
  target?: string;
  /**
   * Default: a fresh empty database on the same server, or an absent SQLite file in the new home. A
   * function gets the scratch folder and production's URL.
   */
  stagingUrl?: string | ((scratchDir: string, productionUrl: string) => string);
  /** The engine of the default staging database (default: production's). */
  stagingKind?: DatabaseKind;
}

const FIXTURE_SIZE = { tenants: 2, users: 6 };

export async function stepScenario(kind: DatabaseKind, options: ScenarioOptions): Promise<StepScenario> {
  const cleanups: (() => Promise<void>)[] = [];
  const dispose = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const production = await scratchDatabase(kind, 'prod');
    cleanups.push(() => production.drop());
    const oldHome = path.join(production.home, 'old');
    const newHome = path.join(production.home, 'new');
    await buildFixture({
      release: options.release,
      home: oldHome,
      databaseUrl: kind === 'sqlite' ? undefined : production.url,
      ...FIXTURE_SIZE,
    });
    const productionUrl = summarizeConfigFile(homeLayout(oldHome).configFile).databaseUrl;
    if (kind !== 'sqlite')
      cleanups.push(() => dropDatabase(storesDatabaseUrl(productionUrl, oldHome), oldHome));

    const stagingUrl = await chooseStaging(kind, options, production, cleanups);
    const target = options.target ?? CURRENT_RELEASE;
    const plan: UpgradePlan = {
      sourceRelease: options.release,
      targetRelease: target,
      hops: pathOrNothing(options.release, target),
      kind,
      oldConfigFormat: summarizeConfigFile(homeLayout(oldHome).configFile).format,
      productionUrl,
      stagingUrl,
      tables: [],
    };

    const output: string[] = [];
    // Keyed by role, so that a staging URL equal to production's still gets its own pool, as in the runner.
    const connections = new UpgradeConnections({
      production: () => openDatabase<unknown>(productionUrl, oldHome),
      staging: () => openDatabase<unknown>(stagingUrl, newHome),
    });
    // Closed before the databases are dropped: cleanups run last in, first out.
    cleanups.push(() => connections.close());
    const command = { fromHome: oldHome, home: newHome, stagingUrl, to: target };
    const context: UpgradeContext = {
      options: { ...command, dryRun: false, resume: false, yes: true, checkLogins: [] },
      oldLayout: homeLayout(oldHome),
      oldConfig: readOldConfig(homeLayout(oldHome).configFile),
      newLayout: homeLayout(newHome),
      plan,
      journal: Journal.create(undefined, command, plan, STEP_NAMES),
      progress: capturingProgress(output),
      production: () => connections.get('production'),
      staging: () => connections.get('staging'),
      closeConnections: () => connections.close(),
      abilities: resolveEngineAbilities(plan.kind),
      now: () => Date.now(),
    };
    return {
      kind,
      context,
      oldHome,
      newHome,
      productionUrl,
      output,
      scratchDir: production.home,
      onDispose: (cleanup) => cleanups.push(cleanup),
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function chooseStaging(
  kind: DatabaseKind,
  options: ScenarioOptions,
  production: ScratchDatabase,
  cleanups: (() => Promise<void>)[],
): Promise<string> {
  if (typeof options.stagingUrl === 'string') return options.stagingUrl;
  if (typeof options.stagingUrl === 'function') return options.stagingUrl(production.home, production.url);
  const stagingKind = options.stagingKind ?? kind;
  if (stagingKind === 'sqlite') return 'sqlite:repository/database/tessera.db';
  const staging = await scratchDatabase(stagingKind, 'staging');
  cleanups.push(() => staging.drop());
  return staging.url;
}

/**
 * Fills staging as the stage step leaves it: the same fixture as production, at the source release. Built
 * by the frozen generator rather than copied, so that these tests do not depend on the stage step.
 */
export async function stageLikeProduction(s: StepScenario): Promise<void> {
  const { plan } = s.context;
  const target = parseDatabaseUrl(plan.stagingUrl, s.newHome);
  const databaseUrl = 'file' in target ? `sqlite:${target.file}` : plan.stagingUrl;
  const home = path.join(s.scratchDir, 'staged');
  await buildFixture({ release: plan.sourceRelease, home, databaseUrl, ...FIXTURE_SIZE });
  if (!('file' in target)) s.onDispose(() => dropDatabase(storesDatabaseUrl(databaseUrl, home), home));
}

function pathOrNothing(from: string, to: string): string[] {
  try {
    return upgradePath(from, to);
  } catch {
    return [];
  }
}

function capturingProgress(output: string[]): Progress {
  return {
    line: (message) => output.push(message),
    task: (label) => ({
      advance: () => {},
      done: (summary) => output.push(`${label}: ${summary ?? 'done'}`),
    }),
  };
}

/**
 * One digest over a database's schema and every row of every table: equal before and after means the
 * database was not changed. Read through `database` itself, so no other session is opened.
 */
export async function databaseDigest(database: Database<unknown>): Promise<string> {
  const digest = createHash('sha256');
  const schema = await captureSchema(database);
  digest.update(JSON.stringify(schema));
  for (const table of schema) {
    const result = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}`.execute(
      database.db,
    );
    const rows = result.rows.map((row) => JSON.stringify(row, bytesAsHex)).sort();
    digest.update(`${table.name}\n${rows.join('\n')}`);
  }
  return digest.digest('hex');
}

function bytesAsHex(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') {
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  }
  return typeof value === 'bigint' ? value.toString() : value;
}
