import { type RawBuilder, sql } from 'kysely';
import { approximateSize } from '../batch.js';
import type { DataSource, TableInfo } from './tables.js';

export interface StreamOptions {
  /** The most rows one query fetches. */
  maxRows?: number;
  /** Roughly how many bytes of values one batch may hold: large values make smaller batches. */
  maxBytes?: number;
}

export type Row = unknown[];

const DEFAULT_MAX_ROWS = 5_000;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
/** The first batch of a table is small: nothing is known yet about how large its rows are. */
const FIRST_BATCH_ROWS = 256;

/**
 * A table's rows in primary-key order, as value arrays in column order, one batch at a time. Keyset
 * pagination (`where key > last key order by key limit n`) keeps memory bounded by one batch whatever
 * the table's size, and each query starts where the index says, so a late page costs what an early one does.
 */
export async function* streamRows(
  source: DataSource,
  table: TableInfo,
  options: StreamOptions = {},
): AsyncGenerator<Row[]> {
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const columns = sql.join(table.columns.map((c) => sql.ref(c)));
  const order = sql.join(table.primaryKey.map((c) => sql.ref(c)));
  const keyPositions = table.primaryKey.map((c) => table.columns.indexOf(c));
  let limit = Math.min(maxRows, FIRST_BATCH_ROWS);
  let lastKey: unknown[] | undefined;
  for (;;) {
    const where = lastKey === undefined ? sql`` : sql`where ${after(table.primaryKey, lastKey)}`;
    const result = await sql<Record<string, unknown>>`
      select ${columns} from ${sql.table(table.name)} ${where} order by ${order} limit ${sql.lit(limit)}`.execute(
      source.db,
    );
    const batch = result.rows.map((record) => table.columns.map((c) => record[c]));
    if (batch.length === 0) return;
    yield batch;
    if (batch.length < limit) return;
    const last = batch[batch.length - 1] as Row;
    lastKey = keyPositions.map((position) => last[position]);
    const bytesPerRow = batch.reduce((sum, row) => sum + approximateSize(row), 0) / batch.length;
    limit = Math.max(1, Math.min(maxRows, Math.floor(maxBytes / Math.max(1, bytesPerRow))));
  }
}

/** Row by row over `streamRows` batches, for consumers that take rows (bulk inserts). */
export async function* eachRow(batches: AsyncIterable<Row[]>): AsyncGenerator<Row> {
  for await (const batch of batches) yield* batch;
}

/**
 * `key > last` over a composite key, spelled `k1 >= v1 and (k1 > v1 or (k1 = v1 and k2 > v2) ...)`: every
 * engine compares it the same way, and the leading `>=` lets the index start at the right place.
 */
function after(key: readonly string[], values: readonly unknown[]): RawBuilder<unknown> {
  const alternatives = key.map((column, i) => {
    const equal = key.slice(0, i).map((c, j) => sql`${sql.ref(c)} = ${values[j]}`);
    return sql.join([...equal, sql`${sql.ref(column)} > ${values[i]}`], sql` and `);
  });
  const first = sql`${sql.ref(key[0] as string)} >= ${values[0]}`;
  return sql`${first} and (${sql.join(
    alternatives.map((a) => sql`(${a})`),
    sql` or `,
  )})`;
}
