import { existsSync } from 'node:fs';
import { copyFile, cp, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { extract } from 'tar';
import { loadConfigFile } from '../config/load.js';
import { type Database, openDatabase } from '../db/connection.js';
import { verifyDump } from '../db/copy/dump-read.js';
import { verificationFailed } from '../db/copy/verification.js';
import { TesseraError } from '../errors.js';
import { type HomeLayout, homeLayout } from '../home/layout.js';
import { SECRETS_KEY_FILE } from '../home/secrets-key.js';
import type { Progress } from '../progress/progress.js';
import { assertStartable, inspectSchema } from '../releases/guard.js';
import { CURRENT_RELEASE, findRelease, getRelease } from '../releases/matrix.js';
import { migrateTo } from '../releases/migrator.js';
import { compareVersions } from '../releases/semver.js';
import {
  BUNDLE_DATABASE,
  BUNDLE_HOME,
  type ExportManifest,
  notAnExport,
  readBundleManifest,
} from './bundle.js';
import { assertOnlyFirstStartRows } from './first-start.js';
import { refuseLiveHome } from './live-home.js';
import { rowsStayBehind } from './node-rows.js';
import { replaceAllRows } from './replace-rows.js';

export interface ImportOptions {
  home: string;
  input: string;
  progress?: Progress;
}

export interface ImportSummary {
  file: string;
  manifest: ExportManifest;
  /** Rows loaded per table, each table verified against the export's count and checksum. */
  tables: Record<string, number>;
  /** Files restored into the home. */
  files: number;
  /** The home's own config is kept; the exported one is put beside it. */
  exportedConfig: string | undefined;
  /**
   * The home's database held what a first start (or `tessera init`) creates, whose super tenant admin
   * password (generated or chosen then) the exported rows replaced.
   */
  replacedFirstStart: boolean;
  durationMs: number;
}

/** Config files the home has are its own (its `tessera.toml` names its own database and port). */
const CONFIG_FOLDER = 'conf';
const CONFIG_FILE = 'conf/tessera.toml';
/** Where the exported `tessera.toml` goes, for the operator to compare. */
export const IMPORTED_CONFIG_FILE = 'conf/tessera.imported.toml';
const SECRETS_KEY_IN_HOME = `conf/${SECRETS_KEY_FILE}`;

/**
 * `tessera import` (README, Command line): restores an export of the same release into a home whose database is empty
 * or holds only what a first start creates, keeping every id, and the exported folders into the home;
 * then checks every table's row count and checksum against the export. Everything that could refuse the
 * import is checked before anything is changed.
 */
export async function importHome(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const layout = homeLayout(options.home);
  const config = loadConfigFile(layout.configFile);
  const file = path.resolve(options.input);
  if (!existsSync(file)) {
    throw new TesseraError('BAD_USAGE', `${file} does not exist.`, {
      hint: 'Pass --in with a file written by tessera export.',
    });
  }
  const database = await openDatabase<unknown>(config.database.url, layout.root);
  try {
    await refuseLiveHome('import', database, layout, config);
    await mkdir(layout.work, { recursive: true });
    const work = await mkdtemp(path.join(layout.work, '.tessera-import-'));
    try {
      await extract({ file, cwd: work, strict: true }).catch((error: unknown) => {
        throw notAnExport(file, `it cannot be read as a .tar.gz: ${(error as Error).message}`);
      });
      const manifest = await readBundleManifest(work, file);
      assertImportable(manifest, database, file);
      const dumpFolder = path.join(work, BUNDLE_DATABASE);
      await verifyDump(dumpFolder, { progress: options.progress });
      const exportedHome = path.join(work, BUNDLE_HOME);
      await assertFoldersFree(layout, exportedHome, manifest);
      const state = await inspectSchema(database);
      if (state.status === 'current') await assertOnlyFirstStartRows(database);
      else if (state.status !== 'empty') assertStartable(state, database.label);

      if (state.status === 'empty') await migrateTo(database, CURRENT_RELEASE);
      // Node rows of an older export (or of the home's own dead nodes) are not carried: no ghost nodes.
      const tables = await replaceAllRows(database, dumpFolder, {
        progress: options.progress,
        leaveEmpty: rowsStayBehind,
      });
      const restored = await restoreFolders(layout, exportedHome, manifest);
      return {
        file,
        manifest,
        tables,
        ...restored,
        replacedFirstStart: state.status === 'current',
        durationMs: performance.now() - started,
      };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  } finally {
    await database.close();
  }
}

/**
 * An export of another release is taken when it holds the same database and config: same schema level and
 * config format (2.0.0 and 2.0.1, which changed code only). Anything else goes through `tessera upgrade`.
 */
function sameDataAsThisRelease(exported: string): boolean {
  const release = findRelease(exported);
  const current = getRelease(CURRENT_RELEASE);
  return (
    release !== undefined &&
    release.schemaLevel === current.schemaLevel &&
    release.configFormat === current.configFormat
  );
}

function assertImportable(manifest: ExportManifest, database: Database<unknown>, file: string): void {
  if (!sameDataAsThisRelease(manifest.release)) {
    const older = compareVersions(manifest.release, CURRENT_RELEASE) < 0;
    throw new TesseraError(
      older ? 'SCHEMA_OLDER' : 'SCHEMA_NEWER',
      `${file} was exported by Tessera ${manifest.release}; this is Tessera ${CURRENT_RELEASE}, and import moves data between homes of one schema level and config format.`,
      {
        hint: older
          ? `Import it with Tessera ${manifest.release} and upgrade that home (tessera upgrade).`
          : `Import it with Tessera ${manifest.release} or later.`,
      },
    );
  }
  if (manifest.kind !== database.kind) {
    throw new TesseraError(
      'BAD_USAGE',
      `${file} holds a ${manifest.kind} database; this home's database ${database.label} is ${database.kind}.`,
      {
        hint: `Point the home's database.url at a ${manifest.kind} database, or export from a ${database.kind} home.`,
      },
    );
  }
}

/** The folders an import fills (all but `conf/`) must hold no files yet, and the store databases must not exist. */
async function assertFoldersFree(
  layout: HomeLayout,
  exportedHome: string,
  manifest: ExportManifest,
): Promise<void> {
  const occupied: string[] = [];
  for (const folder of manifest.folders) {
    if (folder === CONFIG_FOLDER) continue;
    const files = await filesUnder(layout.root, folder);
    if (files.length > 0) occupied.push(`${files.slice(0, 3).join(', ')}${files.length > 3 ? ', ...' : ''}`);
  }
  for (const store of manifest.storeDatabases) {
    if (existsSync(path.join(layout.root, store))) occupied.push(store);
  }
  if (occupied.length > 0) {
    throw new TesseraError(
      'BAD_USAGE',
      `The home ${layout.root} already holds ${occupied.join('; ')}, which the import would overwrite.`,
      { hint: 'Import into a new home (made by tessera init, or started once and stopped).' },
    );
  }
  if (manifest.folders.length > 0 && !existsSync(exportedHome)) {
    throw verificationFailed('The export is incomplete', [
      'home/: missing although the manifest lists folders',
    ]);
  }
}

/**
 * Copies the exported folders and store databases into the home. Config files the home already has are
 * kept, and the exported `tessera.toml` goes beside the home's own.
 */
async function restoreFolders(
  layout: HomeLayout,
  exportedHome: string,
  manifest: ExportManifest,
): Promise<{ files: number; exportedConfig: string | undefined }> {
  let exportedConfig: string | undefined;
  const files: string[] = [];
  for (const folder of manifest.folders) {
    if (folder !== CONFIG_FOLDER) {
      await cp(path.join(exportedHome, folder), path.join(layout.root, folder), {
        recursive: true,
        force: false,
        verbatimSymlinks: true,
      });
      files.push(...(await filesUnder(exportedHome, folder)));
      continue;
    }
    for (const file of await filesUnder(exportedHome, folder)) {
      const to = path.join(layout.root, file === CONFIG_FILE ? IMPORTED_CONFIG_FILE : file);
      if (file === CONFIG_FILE) exportedConfig = to;
      // The secrets key goes with the database whose secrets it sealed: the home's first-start one has none.
      else if (existsSync(to) && file !== SECRETS_KEY_IN_HOME) continue;
      await mkdir(path.dirname(to), { recursive: true });
      await cp(path.join(exportedHome, file), to, { force: true, verbatimSymlinks: true });
      files.push(file);
    }
  }
  for (const store of manifest.storeDatabases) {
    const to = path.join(layout.root, store);
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(path.join(exportedHome, store), to);
    files.push(store);
  }
  return { files: files.length, exportedConfig };
}

/** Files and symlinks under `root/relative`, as `/`-separated paths relative to `root`. */
async function filesUnder(root: string, relative: string): Promise<string[]> {
  const full = path.join(root, relative);
  if (!existsSync(full)) return [];
  if (!(await lstat(full)).isDirectory()) return [relative];
  const files: string[] = [];
  for (const name of (await readdir(full)).sort())
    files.push(...(await filesUnder(root, `${relative}/${name}`)));
  return files;
}
