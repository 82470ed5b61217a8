import type { Database } from '../db/connection.js';
import { TableChecksum } from '../db/copy/checksum.js';
import { type DumpManifest, type DumpTable, readManifest } from '../db/copy/dump-format.js';
import { differencesFromDatabase, restoreDump } from '../db/copy/dump-read.js';
import { type Row, streamRows } from '../db/copy/rows.js';
import { emptyTable, listTables, syncIdentities, type TableInfo } from '../db/copy/tables.js';
import { verificationFailed } from '../db/copy/verification.js';
import type { Progress } from '../progress/progress.js';

/**
 * Replaces every row of `database` (the schema history included) with the dump's, but for the tables
 * `leaveEmpty` names, which end empty whatever the dump holds; then checks each table's count and checksum
 * against the dump. When anything fails, the rows that were there before are put back: a first start's
 * handful, small enough to hold in memory (the caller made sure of that).
 */
export async function replaceAllRows(
  database: Database<unknown>,
  dumpFolder: string,
  options: { progress?: Progress; leaveEmpty?: (table: DumpTable) => boolean } = {},
): Promise<Record<string, number>> {
  const { progress } = options;
  const leaveEmpty = options.leaveEmpty ?? (() => false);
  const tables = await listTables(database);
  const before = await readAllRows(database, tables);
  await emptyAll(database, tables);
  try {
    const loaded = await restoreDump(dumpFolder, database, { progress, include: (t) => !leaveEmpty(t) });
    const expected = emptied(await readManifest(dumpFolder), leaveEmpty);
    const problems = await differencesFromDatabase(expected, database, progress);
    if (problems.length > 0)
      throw verificationFailed(`The rows imported into ${database.label} do not match the export`, problems);
    for (const table of expected.tables) loaded[table.name] ??= 0;
    return loaded;
  } catch (error) {
    await putBack(database, tables, before);
    throw error;
  }
}

/** The manifest as the database should match it: the tables left empty with no rows. */
function emptied(manifest: DumpManifest, leaveEmpty: (table: DumpTable) => boolean): DumpManifest {
  return {
    ...manifest,
    tables: manifest.tables.map((table) =>
      leaveEmpty(table) ? { ...table, ...new TableChecksum(table.columns).result() } : table,
    ),
  };
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
