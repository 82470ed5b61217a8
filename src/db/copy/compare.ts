import type { Progress } from '../../progress/progress.js';
import { resolveDialectAbilities } from '../engine-abilities.js';
import { type TableContent, tableContent } from './checksum.js';
import { inParallel } from './parallel.js';
import { type DataSource, listTables, type TableInfo } from './tables.js';
import { verificationFailed } from './verification.js';

export interface TableComparison {
  table: string;
  original: TableContent;
  copy: TableContent;
  same: boolean;
}

export interface CompareOptions {
  progress?: Progress | undefined;
  /** Tables compared at once (each one read on both sides at once); default 2, one per core here. */
  concurrency?: number;
  /**
   * Columns left out of the content comparison, by table: values a live writer keeps moving (a heartbeat)
   * that no copy can match. The copy must still have them; the caller says why they may differ.
   */
  leaveOut?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Counts and checksums every table on both sides (each pair read side by side) and says which differ.
 * Where the engine digests tables itself, the rows never leave the servers; elsewhere they are read here
 * in primary-key order and hashed canonically. The copy must have the same tables with the same columns;
 * any that does not is reported as differing.
 */
export async function compareContent(
  original: DataSource,
  copy: DataSource,
  tables: readonly TableInfo[],
  options: CompareOptions = {},
): Promise<TableComparison[]> {
  const copyTables = new Map((await listTables(copy)).map((t) => [t.name, t]));
  const { progress } = options;
  const content = contentReader(original, copy);
  return inParallel(tables, options.concurrency ?? 2, async (whole) => {
    const there = copyTables.get(whole.name);
    const left = options.leaveOut?.[whole.name] ?? [];
    const table = { ...whole, columns: whole.columns.filter((column) => !left.includes(column)) };
    const task = progress?.task(`verify ${table.name}`);
    const originalContent = content(original, table, (rows) => task?.advance(rows));
    if (!there || there.columns.join(',') !== whole.columns.join(',')) {
      task?.done('missing or with other columns in the copy');
      return {
        table: table.name,
        original: await originalContent,
        copy: { rows: 0, checksum: '' },
        same: false,
      };
    }
    let [a, b] = await Promise.all([originalContent, content(copy, table)]);
    if (a.rows === b.rows && a.checksum !== b.checksum && content !== canonicalContent) {
      if (formOf(a.checksum) !== formOf(b.checksum)) {
        // Two versions of the engine, one without the faster digest: both sides in the form both have.
        [a, b] = await Promise.all([
          content(original, table, undefined, { portable: true }),
          content(copy, table, undefined, { portable: true }),
        ]);
      }
      if (a.checksum !== b.checksum) {
        // A server digest depends on how the engine stores the rows too: only the canonical checksum, which
        // depends on the values alone, may call a table different.
        [a, b] = await Promise.all([canonicalContent(original, table), canonicalContent(copy, table)]);
      }
    }
    const same = a.rows === b.rows && a.checksum === b.checksum;
    task?.done(`${a.rows.toLocaleString('en')} rows, ${same ? 'same content' : 'DIFFERENT'}`);
    return { table: table.name, original: a, copy: b, same };
  });
}

type ContentReader = (
  source: DataSource,
  table: TableInfo,
  onRows?: (rows: number) => void,
  options?: { portable?: boolean },
) => Promise<TableContent>;

/** A digest's form, the part before its first colon (`pg-record-sum`); only digests of one form compare. */
function formOf(checksum: string): string {
  return checksum.slice(0, Math.max(0, checksum.indexOf(':')));
}

/** The server's own digest when both sides are of one engine that has one, the canonical checksum otherwise. */
function contentReader(original: DataSource, copy: DataSource): ContentReader {
  const originalDigest = resolveDialectAbilities(original.dialect).tableDigest;
  if (originalDigest === undefined || original.dialect.kind !== copy.dialect.kind) return canonicalContent;
  // Both sides speak one engine: a side whose dialect lacks the digest (another version) uses the other's.
  const digests = new Map([
    [original, originalDigest],
    [copy, resolveDialectAbilities(copy.dialect).tableDigest ?? originalDigest],
  ]);
  return async (source, table, onRows, options) => {
    const digest = digests.get(source) ?? originalDigest;
    const result = await digest(source.db, table.name, table.columns, options);
    onRows?.(result.rows);
    return { rows: result.rows, checksum: result.digest };
  };
}

/** In one read snapshot, where the engine also reads key order through the primary key (see readConsistently). */
const canonicalContent: ContentReader = (source, table, onRows) =>
  source.dialect.readConsistently(source.db, (snapshot) =>
    tableContent({ db: snapshot, dialect: source.dialect }, table, { onBatch: onRows }),
  );

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
