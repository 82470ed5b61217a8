import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TesseraError } from '../../errors.js';
import { PRIVATE_FILE_MODE } from '../../home/private-modes.js';
import type { DatabaseKind } from '../url.js';
import type { TableInfo } from './tables.js';

/**
 * A logical dump is a folder: `manifest.json`, written last, and one gzip'd JSON-lines file per table in
 * `tables/`, one row per line as an array of typed values in column order (see typed-json.ts), rows in
 * primary-key order. Tables are listed parents first, the order a restore loads them in.
 */
export const DUMP_FORMAT = 'tessera-dump/1';
export const DUMP_MANIFEST = 'manifest.json';
const TABLES_FOLDER = 'tables';

export interface DumpTable extends TableInfo {
  rows: number;
  /** The table's content checksum (checksum.ts) as read from the database. */
  checksum: string;
  /** Relative to the dump folder. */
  file: string;
  /** Size and SHA-256 of the compressed file. */
  fileBytes: number;
  fileSha256: string;
}

export interface DumpManifest {
  format: typeof DUMP_FORMAT;
  /** Checksums compare only between databases of one engine. */
  kind: DatabaseKind;
  createdAt: string;
  tables: DumpTable[];
}

export function tableFileName(index: number, table: string): string {
  const safe = table.replace(/[^A-Za-z0-9_-]/g, '_');
  return path.posix.join(TABLES_FOLDER, `${String(index + 1).padStart(3, '0')}-${safe}.jsonl.gz`);
}

export function tablesFolder(folder: string): string {
  return path.join(folder, TABLES_FOLDER);
}

export async function writeManifest(folder: string, manifest: DumpManifest): Promise<void> {
  const file = path.join(folder, DUMP_MANIFEST);
  await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });
  await rename(`${file}.tmp`, file);
}

export async function readManifest(folder: string): Promise<DumpManifest> {
  const file = path.join(folder, DUMP_MANIFEST);
  let manifest: DumpManifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as DumpManifest;
  } catch (error) {
    throw new TesseraError(
      'UNSAFE_ARCHIVE',
      `The dump manifest ${file} cannot be read: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (manifest.format !== DUMP_FORMAT || !Array.isArray(manifest.tables)) {
    throw new TesseraError(
      'UNSAFE_ARCHIVE',
      `${file} is not a Tessera dump manifest (format ${DUMP_FORMAT}).`,
    );
  }
  return manifest;
}
