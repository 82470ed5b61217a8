import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import { canonicalValue, tableContent } from '../../../src/db/copy/checksum.js';
import { eachRow, streamRows } from '../../../src/db/copy/rows.js';
import { listTables, type TableInfo } from '../../../src/db/copy/tables.js';
import { migrateTo } from '../../../src/releases/migrator.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../../helpers/databases.js';
import { addEdgeRows, LARGE_TEXT, LARGEST_ID, SMALLEST_ID } from './edge-rows.js';

const USERS = 40;

/** The same rows in any database at 2.0.0: a tenant, USERS users with attributes, and the edge rows. */
async function seed(database: Database<unknown>): Promise<void> {
  await migrateTo(database, '2.0.0', { now: () => 1_000 });
  await sql`insert into tenants (id, domain, admin_username, active, created_at)
            values (-1234, 'carbon.super', 'admin', 1, 0)`.execute(database.db);
  const ids = Array.from({ length: USERS }, (_, i) => i + 1);
  await database.dialect.bulkInsert(
    database.db,
    'users',
    [
      'id',
      'tenant_id',
      'username',
      'password_hash',
      'password_salt',
      'password_algorithm',
      'is_system',
      'created_at',
    ],
    ids.map((id) => [id, -1234, `user${id}`, 'hash', '', 'argon2id', 0, id]),
  );
  await database.dialect.bulkInsert(
    database.db,
    'user_attributes',
    ['user_id', 'name', 'value'],
    ids.flatMap((id) => [
      [id, 'mail', `user${id}@example.com`],
      [id, 'city', id % 2 === 0 ? 'Zürich' : 'Oslo'],
    ]),
  );
  await addEdgeRows(database, '2.0.0');
}

describe('canonicalValue', () => {
  it('tells NULL from the empty string, numbers from digits and bytes from their hex', () => {
    const values = [null, '', 0, '0', 1, '1', Buffer.from('ab'), 'ab', '6162', Buffer.alloc(0)];
    const encoded = values.map(canonicalValue);
    expect(new Set(encoded).size).toBe(values.length);
  });

  it('encodes each value so that neighbouring values cannot run into each other', () => {
    expect(['ab', 'c'].map(canonicalValue).join('')).not.toBe(['a', 'bc'].map(canonicalValue).join(''));
    expect([12, 3].map(canonicalValue).join('')).not.toBe([1, 23].map(canonicalValue).join(''));
  });
});

describe.each(DATABASE_KINDS)('rows and checksums on %s', (kind) => {
  const scratches: ScratchDatabase[] = [];
  let a: Database<unknown>;
  let b: Database<unknown>;
  let tables: TableInfo[];
  const table = (name: string) => tables.find((t) => t.name === name) as TableInfo;

  beforeAll(async () => {
    for (const label of ['sum_a', 'sum_b']) scratches.push(await scratchDatabase(kind, label));
    const [first, second] = scratches as [ScratchDatabase, ScratchDatabase];
    a = await openDatabase<unknown>(first.url, first.home);
    b = await openDatabase<unknown>(second.url, second.home);
    await Promise.all([seed(a), seed(b)]);
    tables = await listTables(a);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    for (const scratch of scratches) await scratch.drop();
  });

  it('streams a table in primary-key order, batch after batch, each row once', async () => {
    const batches = [];
    for await (const batch of streamRows(a, table('users'), { maxRows: 7 })) batches.push(batch);
    const ids = batches.flat().map((row) => Number(row[0]));
    expect(batches.length).toBe(Math.ceil((USERS + 2) / 7));
    expect(ids).toEqual([SMALLEST_ID, ...Array.from({ length: USERS }, (_, i) => i + 1), LARGEST_ID]);
  });

  it('pages through a composite key and a 1 MB value in batches bounded by size', async () => {
    const attributes = table('user_attributes');
    const keys: string[] = [];
    let largest = 0;
    for await (const batch of streamRows(a, attributes, { maxRows: 3, maxBytes: 64 * 1024 })) {
      const hasLarge = batch.some((row) => row[2] === LARGE_TEXT);
      if (hasLarge) largest = batch.length;
      keys.push(...batch.map((row) => `${row[0]}/${row[1]}`));
    }
    const expected = await sql<{ user_id: number; name: string }>`
      select user_id, name from user_attributes order by user_id, name`.execute(a.db);
    expect(keys).toEqual(expected.rows.map((r) => `${r.user_id}/${r.name}`));
    expect(largest).toBeGreaterThan(0);
    const rows = [];
    for await (const row of eachRow(streamRows(a, attributes, { maxRows: 5 }))) rows.push(row);
    expect(rows).toHaveLength(expected.rows.length);
  });

  it('gives equal tables equal checksums, whatever the batch size', async () => {
    for (const t of tables) {
      const [left, right, small] = await Promise.all([
        tableContent(a, t),
        tableContent(b, t),
        tableContent(a, t, { maxRows: 2 }),
      ]);
      expect(right, t.name).toEqual(left);
      expect(small, t.name).toEqual(left);
    }
    expect((await tableContent(a, table('cluster_nodes'))).rows).toBe(0);
  });

  it('changes the checksum of exactly the table where one value changed', async () => {
    const before = await Promise.all(tables.map((t) => tableContent(b, t)));
    await sql`update user_attributes set value = ${`${LARGE_TEXT.slice(0, -1)}!`} where name = 'large'`.execute(
      b.db,
    );
    await sql`update audit_log set detail = ${''} where detail is null`.execute(b.db);
    const after = await Promise.all(tables.map((t) => tableContent(b, t)));
    const changed = tables.filter((_, i) => after[i]?.checksum !== before[i]?.checksum).map((t) => t.name);
    expect(changed.sort()).toEqual(['audit_log', 'user_attributes']);
    expect(after.map((c) => c.rows)).toEqual(before.map((c) => c.rows));
  });
});
