import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Rows } from './dialect.js';

export interface BatchLimits {
  /** The engine's bound-parameter limit per statement. */
  maxParameters: number;
  maxRows?: number;
  /**
   * Roughly how many bytes of values one statement may carry, so that rows with large values (a 1 MB
   * text, a BLOB) make smaller batches and a statement stays below the server's packet limit.
   */
  maxBytes?: number;
  onBatch?: (rows: number, bytes: number) => void;
}

const DEFAULT_MAX_ROWS = 2_000;
const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Multi-row INSERTs sized to stay under the engine's bound-parameter limit, each batch one statement.
 * The engines without a faster bulk path share this; both write placeholders as `?`.
 */
export async function insertInBatches(
  db: Kysely<unknown>,
  table: string,
  columns: readonly string[],
  rows: Rows,
  limits: BatchLimits,
): Promise<number> {
  const maxRows = Math.max(
    1,
    Math.min(limits.maxRows ?? DEFAULT_MAX_ROWS, Math.floor(limits.maxParameters / columns.length)),
  );
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  // Only the head goes through the query builder (for the engine's identifier quoting): compiling a tree of
  // thousands of rows costs as much as running the insert, while the placeholders are plain text.
  const head =
    sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values `.compile(
      db,
    ).sql;
  const group = `(${columns.map(() => '?').join(', ')})`;
  let batch: (readonly unknown[])[] = [];
  let batchBytes = 0;
  let inserted = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const text = `${head}${new Array(batch.length).fill(group).join(', ')}`;
    await db.executeQuery(CompiledQuery.raw(text, batch.flat()));
    inserted += batch.length;
    limits.onBatch?.(batch.length, batchBytes);
    batch = [];
    batchBytes = 0;
  };
  for await (const row of rows) {
    if (row.length !== columns.length) {
      throw new Error(
        `bulk insert into ${table}: a row has ${row.length} values for ${columns.length} columns`,
      );
    }
    batch.push(row);
    batchBytes += approximateSize(row);
    if (batch.length >= maxRows || batchBytes >= maxBytes) await flush();
  }
  await flush();
  return inserted;
}

/** Bytes a row's values take on the wire, near enough to size batches (strings count UTF-16 units). */
export function approximateSize(row: readonly unknown[]): number {
  let bytes = 0;
  for (const value of row) {
    if (typeof value === 'string') bytes += value.length + 2;
    else if (value instanceof Uint8Array) bytes += value.byteLength * 2 + 3;
    else bytes += 8;
  }
  return bytes;
}
