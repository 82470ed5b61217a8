import type { Database } from '../db/connection.js';
import { readManifest } from '../upgrade/data/dump-format.js';
import { differencesFromDatabase, restoreDump } from '../upgrade/data/dump-read.js';
import { type Row, streamRows } from '../upgrade/data/rows.js';
import { emptyTable, listTables, syncIdentities, type TableInfo } from '../upgrade/data/tables.js';
import { verificationFailed } from '../upgrade/data/verification.js';
import type { Progress } from '../upgrade/progress.js';

/**
 * Replaces every row of `database` (the schema history included) with the dump's, then checks each table's
 * count and checksum against the dump. When anything fails, the rows that were there before are put back:
 * a first start's handful, small enough to hold in memory (the caller made sure of that).
 */
export async function replaceAllRows(
  database: Database<unknown>,
  dumpFolder: string,
  progress?: Progress,
): Promise<Record<string, number>> {
  const tables = await listTables(database);
  const before = await readAllRows(database, tables);
  await emptyAll(database, tables);
  try {
    const loaded = await restoreDump(dumpFolder, database, { progress });
    const problems = await differencesFromDatabase(await readManifest(dumpFolder), database, progress);
    if (problems.length > 0)
      throw verificationFailed(`The rows imported into ${database.label} do not match the export`, problems);
    return loaded;
  } catch (error) {
    await putBack(database, tables, before);
    throw error;
  }
}

async function readAllRows(
  database: Database<unknown>,
  tables: readonly TableInfo[],
): Promise<Map<string, Row[]>> {
  const rows = new Map<string, Row[]>();
  for (const table of tables) {
    const all: Row[] = [];
    for await (const batch of streamRows(database, table)) all.push(...batch);
    rows.set(table.name, all);
  }
  return rows;
}

/** Children before parents, so that no foreign key is left pointing at a deleted row. */
async function emptyAll(database: Database<unknown>, tables: readonly TableInfo[]): Promise<void> {
  for (const table of [...tables].reverse()) await emptyTable(database, table.name);
}

async function putBack(
  database: Database<unknown>,
  tables: readonly TableInfo[],
  rows: Map<string, Row[]>,
): Promise<void> {
  await emptyAll(database, tables);
  for (const table of tables) {
    await database.dialect.bulkInsert(database.db, table.name, table.columns, rows.get(table.name) ?? []);
  }
  await syncIdentities(database, tables);
}
