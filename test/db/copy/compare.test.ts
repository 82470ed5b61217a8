import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import { compareContent } from '../../../src/db/copy/compare.js';
import { listTables } from '../../../src/db/copy/tables.js';
import type { Dialect } from '../../../src/db/dialect.js';
import { type ScratchDatabase, scratchDatabase } from '../../helpers/databases.js';

describe('comparing tables on two PostgreSQL servers of which one lacks the faster digest', () => {
  let original: ScratchDatabase;
  let copy: ScratchDatabase;
  let a: Database<unknown>;
  let b: Database<unknown>;

  /** The copy as an older server sees it: only the portable form of the digest. */
  const older = (dialect: Dialect): Dialect => ({
    ...dialect,
    tableDigest: (db, table, columns) => {
      if (!dialect.tableDigest) throw new Error('no digest');
      return dialect.tableDigest(db, table, columns, { portable: true });
    },
  });

  beforeAll(async () => {
    original = await scratchDatabase('postgres', 'cmp_a');
    copy = await scratchDatabase('postgres', 'cmp_b');
    a = await openDatabase<unknown>(original.url, original.home);
    b = await openDatabase<unknown>(copy.url, copy.home);
    for (const db of [a, b]) {
      await sql`create table items (id integer primary key, name text, note text not null)`.execute(db.db);
      await sql`insert into items select g, case when g % 7 = 0 then null else 'n' || g end, 'ü' || g
                from generate_series(1, 2000) g`.execute(db.db);
    }
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await original?.drop();
    await copy?.drop();
  });

  it('names the form of each digest, and the two forms differ', async () => {
    const fast = await a.dialect.tableDigest?.(a.db, 'items', ['id', 'name', 'note']);
    const portable = await a.dialect.tableDigest?.(a.db, 'items', ['id', 'name', 'note'], { portable: true });
    expect(fast?.digest).toMatch(/^pg-record-sum:/);
    expect(portable?.digest).toMatch(/^pg-rowtext-sum:/);
  });

  it('compares both sides in the portable form instead of calling equal tables different', async () => {
    const tables = await listTables(a);
    const [result] = await compareContent(a, { db: b.db, dialect: older(b.dialect) }, tables);
    expect(result?.same).toBe(true);
    expect(result?.copy.checksum).toMatch(/^pg-rowtext-sum:/);
  });

  it('still finds a difference then', async () => {
    await sql`update items set note = 'changed' where id = 1500`.execute(b.db);
    const tables = await listTables(a);
    const [result] = await compareContent(a, { db: b.db, dialect: older(b.dialect) }, tables);
    expect(result?.same).toBe(false);
    expect(result?.original.rows).toBe(result?.copy.rows);
  });
});
