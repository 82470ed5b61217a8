import type { Kysely } from 'kysely';
import type { Database } from '../../../db/connection.js';

/** Rows per table, by table name. */
export type RowCounts = Record<string, number>;

/** Any table, for counting: the query builder needs a schema type, and counting needs no column. */
type AnyTables = Record<string, Record<string, unknown>>;

export async function countRows(database: Database<unknown>): Promise<RowCounts> {
  const db = database.db as Kysely<AnyTables>;
  const counts: RowCounts = {};
  const tables = (await database.db.introspection.getTables()).map((t) => t.name).sort();
  for (const table of tables) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** `table: before -> after` for every table whose count moved (or that came or went). */
export function countDifferences(before: RowCounts, after: RowCounts): string[] {
  const tables = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return tables
    .filter((table) => before[table] !== after[table])
    .map((table) => `${table}: ${before[table] ?? 'absent'} -> ${after[table] ?? 'absent'}`);
}
