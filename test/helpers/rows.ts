import { sql } from 'kysely';
import type { Database } from '../../src/db/connection.js';

export type TableRows = Record<string, string[]>;

/** Columns left out when comparing a table: values that legitimately differ (timings, re-hashed passwords). */
export type Ignore = Record<string, readonly string[]>;

function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** Every row of every table, each row as canonical JSON, sorted: two databases compare with toEqual. */
export async function allRows(database: Database<unknown>, ignore: Ignore = {}): Promise<TableRows> {
  const result: TableRows = {};
  for (const table of await database.dialect.introspect(database.db)) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}`.execute(
      database.db,
    );
    const skipped = new Set(ignore[table.name] ?? []);
    result[table.name] = rows.rows
      .map((row) =>
        JSON.stringify(
          Object.keys(row)
            .filter((column) => !skipped.has(column))
            .sort()
            .map((column) => [column, normalise(row[column])]),
        ),
      )
      .sort();
  }
  return result;
}
