// The scenario of the upgrade's end-to-end tests (upgrade.e2e and upgrade-resume.e2e): production, an
// independently migrated expected database, and the CLI run against them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { type Database, dropDatabase, localDatabaseFiles, openDatabase } from '../../src/db/connection.js';
import { type DatabaseKind, parseDatabaseUrl } from '../../src/db/url.js';
import { homeLayout, SUPER_TENANT_ID, webappsFolder } from '../../src/home/layout.js';
import { buildFixture, storesDatabaseUrl } from '../../src/releases/fixtures/build.js';
import { inspectSchema } from '../../src/releases/guard.js';
import { CURRENT_RELEASE, CURRENT_SCHEMA_LEVEL } from '../../src/releases/matrix.js';
import { migrateTo } from '../../src/releases/migrator.js';
import { appNameProblem } from '../../src/webapps/app-name.js';
import { scanWebapps } from '../../src/webapps/webapps-scan.js';
import { LARGEST_ID } from '../db/copy/edge-rows.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { allRows, type Ignore } from '../helpers/rows.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';
import { writeLedgerApp } from './fixture-apps.js';

export const NEAR_LARGEST_ID = LARGEST_ID - 1_000;

export const CLI = path.resolve('bin/tessera.js');
/** The longest one `tessera upgrade` child may run. */
export const UPGRADE_TIMEOUT_MS = 180_000;
/**
 * A kill-and-resume test runs up to three upgrades: its own timeout must cover them, or a slow machine
 * reports a timeout while the test goes on running against a scenario its afterEach is removing.
 */
export const THREE_UPGRADES_MS = 3 * UPGRADE_TIMEOUT_MS + 60_000;
export const PASSWORD = 'fixture-pw';
// Timings differ between two runs of the same scripts; everything else must be equal.
export const IGNORE: Ignore = { tessera_schema_history: ['started_at', 'finished_at', 'duration_ms'] };

export interface Scenario {
  kind: DatabaseKind;
  oldHome: string;
  newHome: string;
  production: ScratchDatabase;
  expected: ScratchDatabase;
  stagingUrl: string;
  staging?: ScratchDatabase;
  cleanups: (() => Promise<void>)[];
}

export interface ScenarioOptions {
  users?: number;
  /** Rows added to production and, alike, to the expected database before it is migrated. */
  prepare?: (db: Database<unknown>, release: string) => Promise<void>;
  /**
   * Adds `ledger`, a node app with a health path and a data folder, which the smoke step starts on the new
   * release. Only where the test looks at it: each start costs every upgrade of the scenario a second or two.
   */
  nodeApp?: boolean;
}

/** Production and an independently built expected result: the same fixture migrated by the scripts alone. */
export async function scenario(
  kind: DatabaseKind,
  release: string,
  options: ScenarioOptions = {},
): Promise<Scenario> {
  const users = options.users ?? 12;
  const cleanups: (() => Promise<void>)[] = [];
  const production = await scratchDatabase(kind, 'prod');
  const expected = await scratchDatabase(kind, 'expect');
  const oldHome = path.join(production.home, 'old');
  const expectedHome = path.join(expected.home, 'home');
  const url = (db: ScratchDatabase) => (kind === 'sqlite' ? undefined : db.url);
  const built = await buildFixture({
    release,
    home: oldHome,
    databaseUrl: url(production),
    tenants: 3,
    users,
    password: PASSWORD,
  });
  // Beside the fixture's static apps (tenant 1 is active; 3 is not).
  if (options.nodeApp) writeLedgerApp(oldHome, 1);
  const expectedBuilt = await buildFixture({
    release,
    home: expectedHome,
    databaseUrl: url(expected),
    tenants: 3,
    users,
    password: PASSWORD,
  });
  if (kind !== 'sqlite') {
    cleanups.push(() => dropDatabase(storesDatabaseUrl(built.databaseUrl, oldHome), oldHome));
    cleanups.push(() =>
      dropDatabase(storesDatabaseUrl(expectedBuilt.databaseUrl, expectedHome), expectedHome),
    );
  }
  if (options.prepare) {
    const productionDb = await openDatabase<unknown>(built.databaseUrl, oldHome);
    await options.prepare(productionDb, release).finally(() => productionDb.close());
  }
  const expectedDb = await openDatabase<unknown>(expectedBuilt.databaseUrl, expectedHome);
  await options.prepare?.(expectedDb, release);
  await migrateTo(expectedDb, CURRENT_RELEASE);
  await expectedDb.close();
  let staging: ScratchDatabase | undefined;
  let stagingUrl: string;
  const newHome = path.join(production.home, 'new');
  if (kind === 'sqlite') {
    stagingUrl = 'sqlite:repository/database/tessera.db';
  } else {
    staging = await scratchDatabase(kind, 'staging');
    stagingUrl = staging.url;
  }
  return {
    kind,
    oldHome,
    newHome,
    production,
    expected: { ...expected, url: expectedBuilt.databaseUrl, home: expectedHome, drop: expected.drop },
    stagingUrl,
    staging,
    cleanups,
  };
}

export function upgrade(s: Scenario, extra: string[] = [], env: Record<string, string> = {}) {
  return spawnSync(
    process.execPath,
    [
      CLI,
      ...upgradeArgs({
        fromHome: s.oldHome,
        home: s.newHome,
        stagingUrl: s.stagingUrl,
        checkLogin: `admin:${PASSWORD}`,
      }),
      ...extra,
    ],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: UPGRADE_TIMEOUT_MS },
  );
}

export async function openStaging(s: Scenario): Promise<Database<unknown>> {
  // Opening a SQLite file creates it: a staging file that is missing must read as missing, not as empty.
  const [file] = localDatabaseFiles(parseDatabaseUrl(s.stagingUrl, s.newHome));
  if (file !== undefined) expect(existsSync(file), `staging file ${file}`).toBe(true);
  return openDatabase<unknown>(s.stagingUrl, s.newHome);
}

export async function expectUpgraded(s: Scenario): Promise<void> {
  const staging = await openStaging(s);
  const expected = await openDatabase<unknown>(s.expected.url, s.expected.home);
  try {
    expect(await inspectSchema(staging)).toEqual({ status: 'current', level: CURRENT_SCHEMA_LEVEL });
    // The smoke test's check-login re-hashed the super tenant admin's legacy password: only those columns may differ.
    const ignore: Ignore = { ...IGNORE, users: ['password_hash', 'password_salt', 'password_algorithm'] };
    const actual = await allRows(staging, ignore);
    const wanted = await allRows(expected, ignore);
    expect(Object.keys(actual).sort()).toEqual(Object.keys(wanted).sort());
    for (const table of Object.keys(wanted)) {
      if (APP_VERSION_TABLES.includes(table)) continue;
      expect(actual[table], table).toEqual(wanted[table]);
    }
    // The scripts alone leave the app-version tables empty; the upgrade records each app of the home it
    // carries as its version 1 (configure), and nothing else.
    expect(wanted.webapps).toEqual([]);
    const carried = await carriedAppNames(s.newHome);
    expect(carried.length).toBeGreaterThan(0);
    expect(actual.webapps?.length).toBe(carried.length);
    for (const row of actual.webapps ?? []) expect(row).toContain('["current_version",1]');
    for (const row of actual.webapp_versions ?? [])
      expect(row).toContain('["deployed_by","tessera upgrade"]');
    const strict = await allRows(staging, IGNORE);
    const strictWanted = await allRows(expected, IGNORE);
    const changed = strict.users?.filter((row) => !strictWanted.users?.includes(row)) ?? [];
    expect(changed.length).toBeLessThanOrEqual(1);
  } finally {
    await staging.close();
    await expected.close();
  }
}

/** The tables where 2.1.0 keeps apps' versions. */
const APP_VERSION_TABLES = ['webapps', 'webapp_versions', 'webapp_version_chunks'];

/** Every app source (zip or folder with a deployable name) in a home's webapps/ folders, as `tenant/name`. */
async function carriedAppNames(home: string): Promise<string[]> {
  const layout = homeLayout(home);
  const tenantIds = existsSync(layout.tenants)
    ? readdirSync(layout.tenants)
        .filter((name) => /^\d+$/.test(name))
        .map(Number)
    : [];
  const names: string[] = [];
  for (const tenantId of [SUPER_TENANT_ID, ...tenantIds]) {
    for (const source of await scanWebapps(webappsFolder(layout, tenantId)))
      if (appNameProblem(source.name) === undefined) names.push(`${tenantId}/${source.name}`);
  }
  return names;
}

export async function cleanup(s: Scenario | undefined): Promise<void> {
  if (!s) return;
  for (const step of s.cleanups) await step().catch(() => {});
  await s.staging?.drop();
  await s.expected.drop();
  await s.production.drop();
}
