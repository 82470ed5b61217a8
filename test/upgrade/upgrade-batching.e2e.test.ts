import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { addEdgeRows, LARGE_TEXT, SMALLEST_ID } from '../db/copy/edge-rows.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { allRows } from '../helpers/rows.js';
import {
  cleanup,
  expectUpgraded,
  NEAR_LARGEST_ID,
  openStaging,
  type Scenario,
  scenario,
  upgrade,
} from './upgrade-scenario.js';

// Beside upgrade.e2e.test.ts rather than in it: the two are the suite's longest upgrade files, and apart
// they run on both workers at once.
describe.each(DATABASE_KINDS)('tessera upgrade across every batching boundary on %s', (kind) => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await cleanup(s);
    s = undefined;
  });

  it('copies, dumps and migrates a 12,000-user 1.1.0 fixture with edge rows, every table equal row by row', async () => {
    // 12,000 users make ~36,000 attribute rows: several batches of every reader and writer (5,000-row
    // keyset pages, COPY progress batches, 10,000-row MariaDB INSERT ... SELECT ranges, dump batches). The
    // edge rows add the smallest 32-bit id and one near the largest, a 1 MB value, empty and non-ASCII
    // text. A 1.x database holds no NULL (every 1.x column is NOT NULL): NULLs are copied in the stage
    // step's tests on 2.0.0 rows.
    s = await scenario(kind, '1.1.0', {
      users: 12_000,
      prepare: async (db, release) => {
        // A user at the largest 32-bit id would leave the smoke test (and production) no id to create
        // users with; the step tests copy that one.
        await addEdgeRows(db, release, NEAR_LARGEST_ID);
        // A table with no rows: nothing in 1.1.0 needs the registered store domains.
        await sql`delete from store_domains`.execute(db.db);
      },
    });
    const production = await openDatabase<unknown>(
      kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : s.production.url,
      s.oldHome,
    );
    const before = await allRows(production);
    await production.close();
    expect(before.user_attributes?.length).toBeGreaterThan(30_000);
    expect(Object.values(before).some((rows) => rows.length === 0)).toBe(true);

    // On PostgreSQL the table-by-table COPY, whose batches are the point here (a clone has none).
    const result = upgrade(s, kind === 'postgres' ? ['--no-clone'] : []);
    expect(result.status, result.stderr).toBe(0);
    await expectUpgraded(s);
    const staging = await openStaging(s);
    try {
      const attribute = await sql<{ value: string }>`
        select value from user_attributes where user_id = ${NEAR_LARGEST_ID} and name = 'large'`.execute(
        staging.db,
      );
      expect(attribute.rows[0]?.value).toBe(LARGE_TEXT);
      const ids = await sql<{
        low: number;
        high: number;
      }>`select min(id) as low, max(id) as high from users`.execute(staging.db);
      expect(ids.rows[0]).toEqual({ low: SMALLEST_ID, high: NEAR_LARGEST_ID });
    } finally {
      await staging.close();
    }
  }, 240_000);
});
