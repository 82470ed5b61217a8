import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Progress } from '../../progress/progress.js';
import { TableChecksum, tableContent } from './checksum.js';
import { type DumpManifest, type DumpTable, readManifest } from './dump-format.js';
import { hashingPassThrough } from './hashing.js';
import { type DataSource, listTables, syncIdentities } from './tables.js';
import { decodeRow } from './typed-json.js';
import { verificationFailed } from './verification.js';

/** Rows between two progress updates while reading a dump. */
const ADVANCE_EVERY = 1_000;

export interface TableFileReading {
  /** The table's rows, decoded, in the order they were dumped. */
  rows: AsyncGenerator<unknown[]>;
  /** Size and SHA-256 of the compressed file; complete once `rows` is exhausted. */
  file(): { fileBytes: number; fileSha256: string };
}

export function readTableFile(folder: string, table: DumpTable): TableFileReading {
  const hashing = hashingPassThrough();
  // The callback form returns the last stream, and a failure anywhere destroys it with the error.
  const text = pipeline(
    createReadStream(path.join(folder, table.file)),
    hashing.stream,
    createGunzip(),
    () => {},
  );
  async function* rows(): AsyncGenerator<unknown[]> {
    try {
      for await (const line of createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (line.length > 0) yield decodeRow(line);
      }
    } finally {
      // A consumer that stops early (a failed insert) must not leave the file open.
      text.destroy();
    }
  }
  return { rows: rows(), file: () => hashing.result() };
}

export interface VerifyDumpOptions {
  /** The database the dump was made from: its tables must still hold what the manifest says. */
  against?: DataSource;
  progress?: Progress;
}

/**
 * Reads a dump back whole: every file decompressed and decoded, its rows counted and checksummed again,
 * its bytes hashed, all compared with the manifest (and with the source database when given). Resolves
 * with the manifest when everything matches; throws naming every table that does not.
 */
export async function verifyDump(folder: string, options: VerifyDumpOptions = {}): Promise<DumpManifest> {
  const manifest = await readManifest(folder);
  const problems: string[] = [];
  for (const table of manifest.tables) {
    const task = options.progress?.task(`verify dump ${table.name}`, table.rows);
    try {
      const reading = readTableFile(folder, table);
      const checksum = new TableChecksum(table.columns);
      for await (const row of reading.rows) {
        checksum.add(row);
        if (checksum.rows % ADVANCE_EVERY === 0) task?.advance(ADVANCE_EVERY);
      }
      const content = checksum.result();
      task?.advance(content.rows % ADVANCE_EVERY);
      const file = reading.file();
      if (content.rows !== table.rows)
        problems.push(`${table.name}: ${content.rows} rows in the file, ${table.rows} in the manifest`);
      else if (content.checksum !== table.checksum)
        problems.push(`${table.name}: the file's content checksum differs from the manifest's`);
      if (file.fileSha256 !== table.fileSha256 || file.fileBytes !== table.fileBytes) {
        problems.push(
          `${table.name}: ${table.file} is not the file that was written (size or SHA-256 differs)`,
        );
      }
    } catch (error) {
      problems.push(`${table.name}: ${table.file} cannot be read: ${(error as Error).message}`);
    }
    task?.done(`${table.rows.toLocaleString('en')} rows read back`);
  }
  if (options.against)
    problems.push(...(await differencesFromDatabase(manifest, options.against, options.progress)));
  if (problems.length > 0) throw verificationFailed(`The dump in ${folder} does not verify`, problems);
  return manifest;
}

/**
 * How a database's tables depart from a dump's manifest: tables on one side only, and tables whose row
 * count or content checksum differs. Empty when the database holds exactly what was dumped.
 */
export async function differencesFromDatabase(
  manifest: DumpManifest,
  source: DataSource,
  progress?: Progress,
): Promise<string[]> {
  const problems: string[] = [];
  const tables = await listTables(source);
  const dumped = new Set(manifest.tables.map((t) => t.name));
  for (const table of tables)
    if (!dumped.has(table.name)) problems.push(`${table.name}: in the database but not in the dump`);
  for (const entry of manifest.tables) {
    const table = tables.find((t) => t.name === entry.name);
    if (!table) {
      problems.push(`${entry.name}: in the dump but not in the database`);
      continue;
    }
    const task = progress?.task(`verify against database ${entry.name}`, entry.rows);
    const content = await tableContent(source, entry, { onBatch: (rows) => task?.advance(rows) });
    task?.done(`${content.rows.toLocaleString('en')} rows checksummed`);
    if (content.rows !== entry.rows)
      problems.push(`${entry.name}: ${content.rows} rows in the database, ${entry.rows} in the dump`);
    else if (content.checksum !== entry.checksum)
      problems.push(`${entry.name}: the database's content checksum differs from the dump's`);
  }
  return problems;
}

export interface RestoreOptions {
  /** Which of the dump's tables to load (default: all). */
  include?: (table: DumpTable) => boolean;
  progress?: Progress;
}

/**
 * Loads a dump's tables, parents first, into a database whose tables exist with the same columns and are
 * empty, keeping every id; then moves the id generators past them. Returns rows loaded per table.
 */
export async function restoreDump(
  folder: string,
  target: DataSource,
  options: RestoreOptions = {},
): Promise<Record<string, number>> {
  const manifest = await readManifest(folder);
  const selected = manifest.tables.filter(options.include ?? (() => true));
  await assertSameColumns(selected, target);
  const loaded: Record<string, number> = {};
  for (const table of selected) {
    const task = options.progress?.task(`restore ${table.name}`, table.rows);
    loaded[table.name] = await target.dialect.bulkInsert(
      target.db,
      table.name,
      table.columns,
      readTableFile(folder, table).rows,
      { trustedCopy: true, onBatch: (rows) => task?.advance(rows) },
    );
    await target.dialect.refreshStatistics(target.db, table.name);
    task?.done();
  }
  await syncIdentities(target, selected);
  return loaded;
}

async function assertSameColumns(tables: readonly DumpTable[], target: DataSource): Promise<void> {
  const existing = await listTables(target);
  const problems: string[] = [];
  for (const table of tables) {
    const there = existing.find((t) => t.name === table.name);
    if (!there) problems.push(`${table.name}: no such table in the target database`);
    else if (there.columns.join(',') !== table.columns.join(',')) {
      problems.push(
        `${table.name}: the dump has columns (${table.columns.join(', ')}), the target (${there.columns.join(', ')})`,
      );
    }
  }
  if (problems.length > 0) {
    throw verificationFailed(
      'The dump does not fit the target database',
      problems,
      'Restore into a database at the schema level the dump was made at.',
    );
  }
}
