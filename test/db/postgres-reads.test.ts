import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';

describe('PostgreSQL reads in key order without planner statistics', () => {
  let scratch: ScratchDatabase;
  let database: Database<unknown>;
  const keysetPage = sql<{ 'QUERY PLAN': string }>`
    explain select k1, k2, v from pairs where k1 >= 500 and ((k1 > 500) or (k1 = 500 and k2 > 'x'))
    order by k1, k2 limit 5000`;

  beforeAll(async () => {
    scratch = await scratchDatabase('postgres', 'reads');
    database = await openDatabase<unknown>(scratch.url, scratch.home);
    await sql`create table pairs (k1 integer not null, k2 varchar(64) not null, v text not null, primary key (k1, k2))`.execute(
      database.db,
    );
    // Loaded and never analyzed, as a freshly built or restored database is.
    await sql`insert into pairs select g / 3, 'name' || (g % 3), repeat('v', 40) from generate_series(1, 90000) g`.execute(
      database.db,
    );
  });
  afterAll(async () => {
    await database?.close();
    await scratch?.drop();
  });

  it('would sort the whole table for a keyset page outside a consistent read', async () => {
    const plan = (await keysetPage.execute(database.db)).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Sort/);
  });

  it('pages through the primary key index inside a consistent read', async () => {
    const plan = await database.dialect.readConsistently(database.db, async (snapshot) =>
      (await keysetPage.execute(snapshot)).rows.map((r) => r['QUERY PLAN']).join('\n'),
    );
    expect(plan).toMatch(/Index Scan using pairs_pkey/);
    expect(plan).not.toMatch(/Sort/);
  });
});
