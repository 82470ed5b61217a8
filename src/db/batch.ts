import { type Kysely, sql } from 'kysely';

/**
 * Multi-row INSERTs sized to stay under the engine's bound-parameter limit, each batch one statement.
 * The engines without a faster bulk path share this.
 */
export async function insertInBatches(
  db: Kysely<unknown>,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  maxParameters: number,
  maxRowsPerBatch = 2_000,
): Promise<number> {
  const batchSize = Math.max(1, Math.min(maxRowsPerBatch, Math.floor(maxParameters / columns.length)));
  const head = sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values `;
  let batch: (readonly unknown[])[] = [];
  let inserted = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const values = sql.join(batch.map((row) => sql`(${sql.join(row.map((v) => sql`${v}`))})`));
    await sql`${head}${values}`.execute(db);
    inserted += batch.length;
    batch = [];
  };
  for await (const row of rows) {
    if (row.length !== columns.length) {
      throw new Error(
        `bulk insert into ${table}: a row has ${row.length} values for ${columns.length} columns`,
      );
    }
    batch.push(row);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return inserted;
}
