import type { Progress } from '../progress.js';
import { type TableContent, tableContent } from './checksum.js';
import { type DataSource, listTables, type TableInfo } from './tables.js';
import { verificationFailed } from './verification.js';

export interface TableComparison {
  table: string;
  original: TableContent;
  copy: TableContent;
  same: boolean;
}

/**
 * Counts and checksums every table on both sides (each pair read side by side) and says which differ.
 * The copy must have the same tables with the same columns; any that does not is reported as differing.
 */
export async function compareContent(
  original: DataSource,
  copy: DataSource,
  tables: readonly TableInfo[],
  progress?: Progress,
): Promise<TableComparison[]> {
  const copyTables = new Map((await listTables(copy)).map((t) => [t.name, t]));
  const comparisons: TableComparison[] = [];
  for (const table of tables) {
    const there = copyTables.get(table.name);
    const task = progress?.task(`verify ${table.name}`);
    const originalContent = tableContent(original, table, { onBatch: (rows) => task?.advance(rows) });
    if (!there || there.columns.join(',') !== table.columns.join(',')) {
      comparisons.push({
        table: table.name,
        original: await originalContent,
        copy: { rows: 0, checksum: '' },
        same: false,
      });
      task?.done('missing or with other columns in the copy');
      continue;
    }
    const [a, b] = await Promise.all([originalContent, tableContent(copy, table)]);
    const same = a.rows === b.rows && a.checksum === b.checksum;
    comparisons.push({ table: table.name, original: a, copy: b, same });
    task?.done(`${a.rows.toLocaleString('en')} rows, ${same ? 'same content' : 'DIFFERENT'}`);
  }
  return comparisons;
}

/** Throws naming every table whose copy differs from the original. */
export function assertSameContent(
  comparisons: readonly TableComparison[],
  what: string,
  hint?: string,
): void {
  const problems = comparisons
    .filter((c) => !c.same)
    .map((c) =>
      c.original.rows !== c.copy.rows
        ? `${c.table}: ${c.original.rows} rows in the original, ${c.copy.rows} in the copy`
        : `${c.table}: same row count (${c.original.rows}) but different content (checksum ${c.original.checksum.slice(0, 12)} vs ${c.copy.checksum.slice(0, 12)})`,
    );
  if (problems.length > 0) throw verificationFailed(what, problems, hint);
}
