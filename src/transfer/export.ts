import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { create } from 'tar';
import { loadConfigFile } from '../config/load.js';
import { type Database, localDatabaseFiles, openDatabase } from '../db/connection.js';
import { verifyDump } from '../db/copy/dump-read.js';
import { writeDump } from '../db/copy/dump-write.js';
import { resolveDialectAbilities } from '../db/engine-abilities.js';
import { TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { PRIVATE_FILE_MODE } from '../home/private-modes.js';
import type { Progress } from '../progress/progress.js';
import { assertStartable, inspectSchema } from '../releases/guard.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';
import {
  BUNDLE_DATABASE,
  BUNDLE_HOME,
  BUNDLE_MANIFEST,
  EXPORT_FORMAT,
  EXPORTED_FOLDERS,
  type ExportManifest,
  writeBundleManifest,
} from './bundle.js';
import { refuseLiveHome } from './live-home.js';
import { rowsStayBehind } from './node-rows.js';
import { storeDatabaseFiles } from './store-database-files.js';

export interface ExportOptions {
  home: string;
  out: string;
  progress?: Progress;
  now?: () => Date;
}

export interface ExportSummary {
  file: string;
  bytes: number;
  manifest: ExportManifest;
  durationMs: number;
}

/**
 * `tessera export` (README, Command line): the home's database as a verified logical dump, its `conf/`,
 * `repository/deployment/` and `repository/tenants/`, and the SQLite databases of its JDBC user stores
 * inside the home, in one `.tar.gz` for `tessera import` into another home at the same release. Refused
 * while a node runs on the home or its database; the database is read from one snapshot all the same. The
 * rows of `cluster_nodes` stay behind: they describe this installation's processes, not its data.
 */
export async function exportHome(options: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const layout = homeLayout(options.home);
  const config = loadConfigFile(layout.configFile);
  const out = path.resolve(options.out);
  if (!existsSync(path.dirname(out))) {
    throw new TesseraError('BAD_USAGE', `The folder of ${out} does not exist.`, {
      hint: 'Pass --out with a file in an existing folder.',
    });
  }
  const inside = EXPORTED_FOLDERS.find((folder) =>
    isInside(path.dirname(out), path.join(layout.root, folder)),
  );
  if (inside !== undefined) {
    throw new TesseraError('BAD_USAGE', `${out} lies inside ${inside}/, which the export itself copies.`, {
      hint: 'Pass --out with a file outside the home, or at least outside conf/ and repository/.',
    });
  }
  const database = await openDatabase<unknown>(config.database.url, layout.root);
  try {
    const schemaLevel = await exportableLevel(database);
    await refuseLiveHome('export', database, layout, config);
    const work = await mkdtemp(path.join(path.dirname(out), '.tessera-export-'));
    try {
      const dumpFolder = path.join(work, BUNDLE_DATABASE);
      const dump = await writeDump(database, dumpFolder, {
        progress: options.progress,
        now: options.now,
        withoutRows: rowsStayBehind,
      });
      // Read back before it leaves: an export that cannot be imported is worse than none.
      await verifyDump(dumpFolder, { progress: options.progress });

      const homeFolder = path.join(work, BUNDLE_HOME);
      const folders: string[] = [];
      for (const folder of EXPORTED_FOLDERS) {
        const source = path.join(layout.root, folder);
        if (!existsSync(source)) continue;
        await cp(source, path.join(homeFolder, folder), { recursive: true, verbatimSymlinks: true });
        folders.push(folder);
      }
      const storeDatabases = await storeDatabaseFiles(layout, localDatabaseFiles(database.target));
      for (const store of storeDatabases)
        await copyStoreDatabase(store.url, layout.root, path.join(homeFolder, store.relative));

      const manifest: ExportManifest = {
        format: EXPORT_FORMAT,
        release: CURRENT_RELEASE,
        schemaLevel,
        kind: database.kind,
        created: (options.now?.() ?? new Date()).toISOString(),
        source: { home: layout.root, database: database.label },
        database: { tables: dump.tables.length, rows: dump.tables.reduce((sum, t) => sum + t.rows, 0) },
        folders,
        storeDatabases: storeDatabases.map((s) => s.relative),
      };
      await writeBundleManifest(work, manifest);
      const partial = path.join(work, 'export.tar.gz');
      const entries = [BUNDLE_MANIFEST, BUNDLE_DATABASE, ...(existsSync(homeFolder) ? [BUNDLE_HOME] : [])];
      await create({ gzip: true, file: partial, cwd: work, portable: true }, entries);
      // The bundle holds the config (store URLs with passwords) and every password hash: the owner's alone.
      await chmod(partial, PRIVATE_FILE_MODE);
      await rename(partial, out);
      return { file: out, bytes: (await stat(out)).size, manifest, durationMs: performance.now() - started };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  } finally {
    await database.close();
  }
}

function isInside(file: string, folder: string): boolean {
  const relative = path.relative(folder, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Only a database at this build's release is exported: the export is imported by the same release. */
async function exportableLevel(database: Database<unknown>): Promise<string> {
  const state = await inspectSchema(database);
  if (state.status === 'current') return state.level;
  if (state.status === 'empty') {
    throw new TesseraError('BAD_USAGE', `Database ${database.label} is empty: there is nothing to export.`, {
      hint: 'Export a home whose server has run at least once.',
    });
  }
  assertStartable(state, database.label);
  throw new TesseraError('INTERNAL', `Database ${database.label} is in state ${state.status}.`);
}

/** A consistent copy of a store's SQLite database (through the engine's backup API when it has one). */
async function copyStoreDatabase(url: string, home: string, destination: string): Promise<void> {
  await mkdir(path.dirname(destination), { recursive: true });
  const store = await openDatabase<unknown>(url, home);
  try {
    const { backupToFile } = resolveDialectAbilities(store.dialect);
    if (backupToFile === undefined) {
      throw new TesseraError('INTERNAL', `The store database ${store.label} cannot be copied as a file.`);
    }
    await backupToFile(store.db, destination);
  } finally {
    await store.close();
  }
}
