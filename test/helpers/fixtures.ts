import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_FORMAT } from '../../src/config/keys.js';
import { dropDatabase, openDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { homeLayout } from '../../src/home/layout.js';
import { upgradeConfig } from '../../src/releases/config/index.js';
import {
  buildFixture,
  type FixtureOptions,
  type FixtureSummary,
  storesDatabaseUrl,
} from '../../src/releases/fixtures/build.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { migrateTo } from '../../src/releases/migrator.js';
import type { ScratchDatabase } from './databases.js';

export interface ScratchFixture {
  summary: FixtureSummary;
  /** The PARTNERS stores' database URL as the home's store files name it. */
  storesUrl: string;
  /** Drops the PARTNERS stores' database the fixture made beside a server database (on SQLite it is a file in the home). */
  dropStores(): Promise<void>;
}

/** A fixture home on `database`, or on SQLite on the home's embedded default database. */
export async function buildFixtureOn(
  kind: DatabaseKind,
  database: ScratchDatabase,
  options: Omit<FixtureOptions, 'databaseUrl'>,
): Promise<ScratchFixture> {
  const summary = await buildFixture({
    ...options,
    databaseUrl: kind === 'sqlite' ? undefined : database.url,
  });
  const home = options.home;
  const storesUrl = storesDatabaseUrl(summary.databaseUrl, home);
  return {
    summary,
    storesUrl,
    async dropStores() {
      if (kind !== 'sqlite') await dropDatabase(storesUrl, home);
    },
  };
}

/**
 * Brings a fixture home (of a release no later than the current one) to the current release in place, by the
 * pieces the staged upgrade runs: the release scripts on its database and the config rules on its file. For
 * tests that need a populated home at the current release, which no frozen generator builds; the upgrade's
 * own tests run the whole upgrade.
 */
export async function fixtureAtCurrentRelease(home: string, databaseUrl: string): Promise<void> {
  const database = await openDatabase<unknown>(databaseUrl, home);
  try {
    await migrateTo(database, CURRENT_RELEASE);
  } finally {
    await database.close();
  }
  const file = homeLayout(home).configFile;
  const upgraded = upgradeConfig({
    source: readFileSync(file, 'utf8'),
    file,
    targetFormat: CONFIG_FORMAT,
    databaseUrl,
  });
  writeFileSync(file, upgraded.text);
}
