import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { deferrableKeys, withKeysDeferred } from '../../src/db/dialects/postgres/deferred-keys.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';

describe('PostgreSQL keys deferred around a bulk load', () => {
  let scratch: ScratchDatabase;
  let database: Database<unknown>;
  let pool: pg.Pool;

  beforeAll(async () => {
    scratch = await scratchDatabase('postgres', 'keys');
    database = await openDatabase<unknown>(scratch.url, scratch.home);
    pool = new pg.Pool({ connectionString: scratch.url });
    await sql`create table parents (id integer primary key, code varchar(20) not null, constraint parents_code_uq unique (code))`.execute(
      database.db,
    );
    await sql`create table children (parent_id integer not null references parents (id), name varchar(20) not null,
              note text not null, primary key (parent_id, name))`.execute(database.db);
    await sql`create index children_note_idx on children (note)`.execute(database.db);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.close();
    await scratch?.drop();
  });

  const indexes = async () =>
    (await database.dialect.introspect(database.db)).map((t) => ({ table: t.name, indexes: t.indexes }));

  it('defers plain indexes and unreferenced keys, never a key a foreign key references', async () => {
    const client = await pool.connect();
    try {
      expect((await deferrableKeys(client, 'parents')).map((k) => k.name)).toEqual(['parents_code_uq']);
      expect((await deferrableKeys(client, 'children')).map((k) => k.name)).toEqual([
        'children_pkey',
        'children_note_idx',
      ]);
    } finally {
      client.release();
    }
  });

  it('builds them again as they were once the rows are in', async () => {
    const before = await indexes();
    const client = await pool.connect();
    try {
      await client.query("insert into parents values (1, 'a'), (2, 'b')");
      await withKeysDeferred(client, 'children', async () => {
        // Inside the load the table has no keys left to maintain.
        expect((await deferrableKeys(client, 'children')).length).toBe(0);
        await client.query(
          "insert into children select 1 + g % 2, 'n' || g, 'note' || g from generate_series(1, 5000) g",
        );
      });
    } finally {
      client.release();
    }
    expect(await indexes()).toEqual(before);
    const rows = await sql<{ n: number }>`select count(*)::int as n from children`.execute(database.db);
    expect(rows.rows[0]?.n).toBe(5000);
  });

  it('leaves the table and its keys as they were when the load fails', async () => {
    const before = await indexes();
    const client = await pool.connect();
    try {
      const failure = await withKeysDeferred(client, 'children', async () => {
        await client.query("insert into children values (1, 'late', 'x')");
        throw new Error('the copy broke off');
      }).catch((error: unknown) => error);
      expect((failure as Error).message).toBe('the copy broke off');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await indexes()).toEqual(before);
    const late = await sql<{
      n: number;
    }>`select count(*)::int as n from children where name = 'late'`.execute(database.db);
    expect(late.rows[0]?.n).toBe(0);
  });
});
