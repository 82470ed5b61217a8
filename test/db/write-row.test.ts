import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { writeRow } from '../../src/db/write-row.js';
import { SUPER_TENANT_ID } from '../../src/home/layout.js';
import { bootstrapDatabase } from '../../src/server/bootstrap.js';
import { DATABASE_KINDS, scratchDatabase } from '../helpers/databases.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

async function freshDatabase(kind: (typeof DATABASE_KINDS)[number]): Promise<Database> {
  const scratch = await scratchDatabase(kind, 'writerow');
  cleanups.push(() => scratch.drop());
  const database = await openDatabase(scratch.url, scratch.home);
  cleanups.push(() => database.close());
  await bootstrapDatabase(database, 'write-row-test-admin-pw');
  return database;
}

describe.each(DATABASE_KINDS)('writeRow on %s', (kind) => {
  it('inserts a missing row, updates it in place, and an update to the same values inserts no duplicate', async () => {
    const { db } = await freshDatabase(kind);
    const key = { tenant_id: SUPER_TENANT_ID, name: 'lockout' };
    const values = (value: string, at: number) => ({ value, updated_by: 'admin', updated_at: at });
    const rows = () =>
      db
        .selectFrom('tenant_settings')
        .select(['value', 'updated_at'])
        .where('name', '=', 'lockout')
        .execute();

    expect(
      await db.transaction().execute((trx) => writeRow(trx, 'tenant_settings', key, values('{"a":1}', 1))),
    ).toBe('inserted');
    expect(
      await db.transaction().execute((trx) => writeRow(trx, 'tenant_settings', key, values('{"a":2}', 2))),
    ).toBe('updated');
    // The same values again: MySQL reports no changed row for this UPDATE, which must not read as "missing".
    expect(
      await db.transaction().execute((trx) => writeRow(trx, 'tenant_settings', key, values('{"a":2}', 2))),
    ).toBe('updated');
    expect((await rows()).map((r) => [r.value, Number(r.updated_at)])).toEqual([['{"a":2}', 2]]);

    // Another key of the same table is another row; the first is left as it was.
    await writeRow(
      db,
      'tenant_settings',
      { tenant_id: SUPER_TENANT_ID, name: 'password_policy' },
      values('{}', 3),
    );
    const all = await db.selectFrom('tenant_settings').select(['name', 'value']).orderBy('name').execute();
    expect(all).toEqual([
      { name: 'lockout', value: '{"a":2}' },
      { name: 'password_policy', value: '{}' },
    ]);
  });
});
