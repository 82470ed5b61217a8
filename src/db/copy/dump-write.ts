import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../../home/private-modes.js';
import type { Progress } from '../../progress/progress.js';
import type { Database } from '../connection.js';
import { TableChecksum } from './checksum.js';
import {
  DUMP_FORMAT,
  type DumpManifest,
  type DumpTable,
  tableFileName,
  tablesFolder,
  writeManifest,
} from './dump-format.js';
import { hashingPassThrough } from './hashing.js';
import { type Row, streamRows } from './rows.js';
import { countRows, type DataSource, listTables, type TableInfo } from './tables.js';
import { encodeRow } from './typed-json.js';

export interface WriteDumpOptions {
  progress?: Progress;
  now?: () => Date;
  /** Tables dumped with their columns but none of their rows (an export leaves node rows behind). */
  withoutRows?: (table: TableInfo) => boolean;
}

/**
 * Dumps every table of `database` into `folder` (which must not hold a dump yet), all from one read
 * snapshot, so the tables agree with each other even if something writes meanwhile. The manifest is
 * written last: a folder without one is a dump that did not finish.
 */
export async function writeDump(
  database: Database<unknown>,
  folder: string,
  options: WriteDumpOptions = {},
): Promise<DumpManifest> {
  await mkdir(tablesFolder(folder), { recursive: true, mode: PRIVATE_FOLDER_MODE });
  const createdAt = (options.now?.() ?? new Date()).toISOString();
  const tables = await database.dialect.readConsistently(database.db, async (snapshot) => {
    const source: DataSource = { db: snapshot, dialect: database.dialect };
    const dumped: DumpTable[] = [];
    for (const [index, table] of (await listTables(source)).entries()) {
      const file = tableFileName(index, table.name);
      const rowsOf = options.withoutRows?.(table) ? noRows : streamRows;
      dumped.push(await dumpTable(source, table, folder, file, rowsOf, options.progress));
    }
    return dumped;
  });
  const manifest: DumpManifest = { format: DUMP_FORMAT, kind: database.kind, createdAt, tables };
  await writeManifest(folder, manifest);
  return manifest;
}

async function dumpTable(
  source: DataSource,
  table: TableInfo,
  folder: string,
  file: string,
  rowsOf: typeof streamRows,
  progress: Progress | undefined,
): Promise<DumpTable> {
  const task = progress?.task(
    `dump ${table.name}`,
    rowsOf === noRows ? 0 : await countRows(source, table.name),
  );
  const checksum = new TableChecksum(table.columns);
  async function* lines(): AsyncGenerator<Buffer> {
    for await (const batch of rowsOf(source, table)) {
      checksum.addBatch(batch);
      task?.advance(batch.length);
      yield Buffer.from(`${batch.map(encodeRow).join('\n')}\n`);
    }
  }
  const written = hashingPassThrough();
  await pipeline(
    Readable.from(lines()),
    // Level 1: most of the size saving at a fraction of the default level's time (dumps run in the outage).
    createGzip({ level: 1 }),
    written.stream,
    createWriteStream(path.join(folder, file), { mode: PRIVATE_FILE_MODE }),
  );
  const content = checksum.result();
  task?.done(`${content.rows.toLocaleString('en')} rows`);
  return { ...table, rows: content.rows, checksum: content.checksum, file, ...written.result() };
}

/** The rows of a table dumped without them: none. */
async function* noRows(_source: DataSource, _table: TableInfo): AsyncGenerator<Row[]> {}
