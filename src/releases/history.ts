import type { Kysely } from 'kysely';
import type { SchemaHistoryTable } from '../db/schema.js';

export const HISTORY_TABLE = 'tessera_schema_history';

/** The history row that marks a database retired by a promoted upgrade (written by `tessera upgrade`). */
export const RETIRED_SCRIPT = 'RETIRED';

interface HistorySchema {
  tessera_schema_history: SchemaHistoryTable;
}

export function historyDb(db: Kysely<unknown>): Kysely<HistorySchema> {
  return db as Kysely<HistorySchema>;
}

export async function ensureHistoryTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable(HISTORY_TABLE)
    .ifNotExists()
    .addColumn('version', 'varchar(32)', (c) => c.notNull())
    .addColumn('script', 'varchar(255)', (c) => c.notNull())
    .addColumn('checksum', 'varchar(64)', (c) => c.notNull())
    .addColumn('statements_total', 'integer', (c) => c.notNull())
    .addColumn('statements_applied', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('duration_ms', 'bigint')
    .addPrimaryKeyConstraint('tessera_schema_history_pk', ['version', 'script'])
    .execute();
}

export async function historyTableExists(db: Kysely<unknown>): Promise<boolean> {
  const tables = await db.introspection.getTables();
  return tables.some((t) => t.name === HISTORY_TABLE);
}

export async function readHistory(db: Kysely<unknown>): Promise<SchemaHistoryTable[]> {
  if (!(await historyTableExists(db))) return [];
  return historyDb(db)
    .selectFrom(HISTORY_TABLE)
    .selectAll()
    .orderBy('started_at')
    .orderBy('version')
    .execute();
}

/** Counts application tables, to tell an empty database from a foreign one. */
export async function countTables(db: Kysely<unknown>): Promise<number> {
  const tables = await db.introspection.getTables();
  return tables.length;
}
