import { dropDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';
import {
  buildFixture,
  type FixtureOptions,
  type FixtureSummary,
  storesDatabaseUrl,
} from '../../src/releases/fixtures/build.js';
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
