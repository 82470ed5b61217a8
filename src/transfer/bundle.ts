import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseKind } from '../db/url.js';
import { TesseraError } from '../errors.js';

/**
 * An export is one `.tar.gz` holding `manifest.json` (this module), `database/` (a logical dump, see
 * src/db/copy/dump-format.ts) and `home/` (the home's folders that travel, under their own paths).
 */
export const EXPORT_FORMAT = 'tessera-export/1';
export const BUNDLE_MANIFEST = 'manifest.json';
export const BUNDLE_DATABASE = 'database';
export const BUNDLE_HOME = 'home';

/** The folders of a home that travel with an export, relative to the home. */
export const EXPORTED_FOLDERS = ['conf', 'repository/deployment', 'repository/tenants'] as const;

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  /** The Tessera release that wrote the export; only the same release imports it. */
  release: string;
  /** The schema level of the exported database. */
  schemaLevel: string;
  kind: DatabaseKind;
  created: string;
  source: { home: string; database: string };
  database: { tables: number; rows: number };
  /** Relative to the home: the folders included, and SQLite files of JDBC user stores inside the home. */
  folders: string[];
  storeDatabases: string[];
}

export async function writeBundleManifest(folder: string, manifest: ExportManifest): Promise<void> {
  await writeFile(path.join(folder, BUNDLE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function readBundleManifest(folder: string, file: string): Promise<ExportManifest> {
  let manifest: ExportManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(folder, BUNDLE_MANIFEST), 'utf8')) as ExportManifest;
  } catch (error) {
    throw notAnExport(file, (error as Error).message);
  }
  if (manifest.format !== EXPORT_FORMAT) throw notAnExport(file, `its format is ${String(manifest.format)}`);
  return manifest;
}

export function notAnExport(file: string, why: string): TesseraError {
  return new TesseraError('BAD_USAGE', `${file} is not a Tessera export (${why}).`, {
    hint: 'Pass --in with a file written by tessera export.',
  });
}
