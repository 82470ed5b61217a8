import { type Kysely, sql } from 'kysely';
import type { Schema } from './schema.js';

type Column<Row> = keyof Row & string;
// No booleans: better-sqlite3 refuses them as parameters, and the schema stores flags as integers.
type Value = string | number | bigint | null;

/**
 * Writes the row of `table` whose key columns hold `key`: updated with `values` when it exists, else inserted
 * with the key and the values. Call it inside a transaction. The row is asked for first rather than told from
 * the UPDATE's row count, because MySQL counts only rows whose values changed (an update to the same values
 * reports 0 and would insert a duplicate); and one query shape serves every engine, so no dialect's own
 * upsert syntax is needed. Column names are checked against the schema's type; the SQL is built with
 * Kysely's `sql` (identifiers quoted by the dialect, values as parameters), since a query builder generic in
 * its table cannot type its own where clauses.
 */
export async function writeRow<TB extends keyof Schema & string>(
  db: Kysely<Schema>,
  table: TB,
  key: { [C in Column<Schema[TB]>]?: Value },
  values: { [C in Column<Schema[TB]>]?: Value },
): Promise<'inserted' | 'updated'> {
  const keyEntries = Object.entries(key) as [string, Value][];
  const valueEntries = Object.entries(values) as [string, Value][];
  const matches = sql.join(
    keyEntries.map(([name, value]) => sql`${sql.ref(name)} = ${value}`),
    sql` and `,
  );
  const found = await sql`select 1 as found from ${sql.table(table)} where ${matches}`.execute(db);
  if (found.rows.length > 0) {
    const assignments = sql.join(valueEntries.map(([name, value]) => sql`${sql.ref(name)} = ${value}`));
    await sql`update ${sql.table(table)} set ${assignments} where ${matches}`.execute(db);
    return 'updated';
  }
  const row = [...keyEntries, ...valueEntries];
  await sql`insert into ${sql.table(table)} (${sql.join(row.map(([name]) => sql.ref(name)))}) values (${sql.join(
    row.map(([, value]) => value),
  )})`.execute(db);
  return 'inserted';
}
