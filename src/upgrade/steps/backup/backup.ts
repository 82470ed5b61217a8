import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Database, localDatabaseFiles, openDatabase } from '../../../db/connection.js';
import {
  type ArchiveListing,
  type ArchiveSelection,
  createArchive,
  verifyArchive,
} from '../../../db/copy/archive.js';
import { DUMP_MANIFEST } from '../../../db/copy/dump-format.js';
import { verifyDump } from '../../../db/copy/dump-read.js';
import { writeDump } from '../../../db/copy/dump-write.js';
import { type DatabaseKind, redactDatabaseUrl } from '../../../db/url.js';
import { formatBytes } from '../../../progress/bytes.js';
import { crashPoint } from '../../crash.js';
import { type SharedStoreDatabase, sharedStoreDatabases } from '../../home/old-home-databases.js';
import type { Step, UpgradeContext } from '../../types.js';

/** Inside the backup folder: the logical dump of production and the archive of the old home. */
export const BACKUP_DATABASE_FOLDER = 'database';
/** Inside the backup folder: one dump per store database the old home shares with the new one. */
export const BACKUP_STORES_FOLDER = 'store-databases';
export const OLD_HOME_ARCHIVE = 'old-home.tar.gz';

/** Where this upgrade's backup goes: `<new home>/backups/upgrade-<journal id>/`. */
export function backupFolder(context: UpgradeContext): string {
  return path.join(context.newLayout.backups, `upgrade-${context.journal.data.id}`);
}

/** A dump written and read back, as the journal keeps it. */
interface DumpRecord {
  folder: string;
  manifest: string;
  kind: DatabaseKind;
  rows: number;
  bytes: number;
  tables: Record<string, { rows: number; checksum: string; bytes: number }>;
  durationMs: number;
}

/** What the backup records: where each dump and the archive are, and that each was verified. */
export interface BackupDetails {
  folder: string;
  database: DumpRecord;
  storeDatabases: (StoreDump & { verification: 'verified' })[];
  oldHome: ArchiveListing & {
    root: string;
    archive: string;
    bytes: number;
    sha256: string;
    /** The database file's path in the archive where a consistent copy stands in for it, else null. */
    databaseSnapshot: string | null;
    skipped: readonly string[];
    durationMs: number;
  };
  verification: { dump: 'verified'; archive: 'verified'; durationMs: number };
  durationMs: number;
}

/**
 * Upgrade step 3 (docs/architecture.md, The upgrade): a logical, checksummed dump of production and an archive of the old home, both read
 * back and verified before the step ends. Production is only read.
 */
export const backupStep: Step<'backup', BackupDetails> = {
  name: 'backup',
  title: 'Backup: dump production and archive the old home, then verify both',

  async describe(context) {
    const folder = backupFolder(context);
    return [
      `dump production (${context.plan.kind}, ${redactDatabaseUrl(context.plan.productionUrl)}) table by table into ${path.join(folder, BACKUP_DATABASE_FOLDER)}: gzip'd JSON lines and a SHA-256 content checksum per table`,
      `archive the old home ${context.oldLayout.root} into ${path.join(folder, OLD_HOME_ARCHIVE)} (a database file inside it is archived as a consistent copy made with the engine's backup API)`,
      ...(await sharedStoreDatabases(context)).map(
        (store, index) =>
          `dump store database ${store.label} (used by ${store.usedBy.join(', ')}; the new home keeps using it, so it is not copied) the same way into ${storeDumpFolder(folder, index, store)}`,
      ),
      'read all back: every table decompressed and checksummed against the checksum taken of its rows as they were read from its database; every archive entry compared with the old home',
    ];
  },

  async run(context) {
    const started = performance.now();
    const folder = backupFolder(context);
    // A backup an interrupted attempt left half-written is never trusted: it is made again from scratch.
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    const production = await context.production();

    const dumpFolder = path.join(folder, BACKUP_DATABASE_FOLDER);
    const dumpStarted = performance.now();
    const manifest = await writeDump(production, dumpFolder, { progress: context.progress });
    const dumpMs = performance.now() - dumpStarted;
    crashPoint('backup:dump');
    const storeDumps = await dumpStoreDatabases(context, folder);

    const archiveFile = path.join(folder, OLD_HOME_ARCHIVE);
    const work = await mkdtemp(path.join(folder, '.work-'));
    try {
      const archiveStarted = performance.now();
      const selection = await oldHomeSelection(context, production, folder, work);
      const archive = await createArchive(context.oldLayout.root, archiveFile, selection);
      const archiveMs = performance.now() - archiveStarted;
      crashPoint('backup:archive');

      const verifyStarted = performance.now();
      // Read back against the manifest, whose checksums were taken of the rows as they came from production:
      // reading production a second time would only repeat the same reads, inside the outage.
      await verifyDump(dumpFolder, { progress: context.progress });
      for (const store of storeDumps) await verifyDump(store.folder, { progress: context.progress });
      const listing = await verifyArchive(archiveFile, context.oldLayout.root, selection);
      const verifyMs = performance.now() - verifyStarted;

      const dumpBytes = manifest.tables.reduce((sum, t) => sum + t.fileBytes, 0);
      const rows = manifest.tables.reduce((sum, t) => sum + t.rows, 0);
      context.progress.line(
        `Backup verified: database dump ${dumpFolder} (${manifest.tables.length} tables, ${rows.toLocaleString('en')} rows, ${formatBytes(dumpBytes)}); ${storeDumps.length} store database dumps; old home archive ${archiveFile} (${listing.files} files, ${formatBytes(archive.bytes)}).`,
      );
      return {
        folder,
        database: {
          folder: dumpFolder,
          manifest: path.join(dumpFolder, DUMP_MANIFEST),
          kind: manifest.kind,
          rows,
          bytes: dumpBytes,
          tables: Object.fromEntries(
            manifest.tables.map((t) => [t.name, { rows: t.rows, checksum: t.checksum, bytes: t.fileBytes }]),
          ),
          durationMs: Math.round(dumpMs),
        },
        storeDatabases: storeDumps.map((store) => ({ ...store, verification: 'verified' as const })),
        oldHome: {
          root: context.oldLayout.root,
          archive: archiveFile,
          bytes: archive.bytes,
          sha256: archive.sha256,
          ...listing,
          databaseSnapshot: selection.substitutes?.[0]?.relative ?? null,
          skipped: selection.skip ?? [],
          durationMs: Math.round(archiveMs),
        },
        verification: {
          dump: 'verified' as const,
          archive: 'verified' as const,
          durationMs: Math.round(verifyMs),
        },
        durationMs: Math.round(performance.now() - started),
      };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};

/** Where a shared store database's dump goes: numbered (two servers may hold databases of one name). */
function storeDumpFolder(backup: string, index: number, store: SharedStoreDatabase): string {
  const target = store.target;
  const name = 'file' in target ? path.basename(target.file) : target.database;
  return path.join(backup, BACKUP_STORES_FOLDER, `${index + 1}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
}

/**
 * Dumps every store database the old home shares with the new one, as production is dumped. The upgrade
 * does not copy these (the new home keeps using them, as the old one did), so this dump is what an
 * operator restores them from. Each is opened read-only: the backup cannot change it.
 */
interface StoreDump extends DumpRecord {
  /** The store database, its password masked. */
  database: string;
  usedBy: string[];
}

async function dumpStoreDatabases(context: UpgradeContext, folder: string): Promise<StoreDump[]> {
  const dumps: StoreDump[] = [];
  for (const [index, store] of (await sharedStoreDatabases(context)).entries()) {
    const dumpFolder = storeDumpFolder(folder, index, store);
    const started = performance.now();
    const database = await openDatabase<unknown>(store.url, context.oldLayout.root, { readOnly: true });
    try {
      const manifest = await writeDump(database, dumpFolder, { progress: context.progress });
      dumps.push({
        database: store.label,
        usedBy: store.usedBy,
        folder: dumpFolder,
        manifest: path.join(dumpFolder, DUMP_MANIFEST),
        kind: manifest.kind,
        rows: manifest.tables.reduce((sum, t) => sum + t.rows, 0),
        bytes: manifest.tables.reduce((sum, t) => sum + t.fileBytes, 0),
        tables: Object.fromEntries(
          manifest.tables.map((t) => [t.name, { rows: t.rows, checksum: t.checksum, bytes: t.fileBytes }]),
        ),
        durationMs: Math.round(performance.now() - started),
      });
    } finally {
      await database.close();
    }
    crashPoint('backup:store-dump');
  }
  return dumps;
}

/**
 * What the old home's archive leaves out or replaces. A production database file inside the old home is
 * not archived as it lies on disk: its write-ahead log may hold committed pages the main file lacks yet.
 * It is copied through the engine's backup API into `work` and archived under its own name instead, so
 * the archive alone restores a working home (and the live -wal/-shm files are left out). The backup
 * folder is left out should the new home lie inside the old one.
 */
async function oldHomeSelection(
  context: UpgradeContext,
  production: Database<unknown>,
  backup: string,
  work: string,
): Promise<ArchiveSelection> {
  const root = context.oldLayout.root;
  const inside = (file: string): string | undefined => {
    const relative = path.relative(root, file);
    return relative === '' || relative.startsWith('..') || path.isAbsolute(relative)
      ? undefined
      : relative.split(path.sep).join('/');
  };
  const skip: string[] = [];
  const ownFolder = inside(backup);
  if (ownFolder !== undefined) skip.push(ownFolder);
  const [main, ...companions] = localDatabaseFiles(production.target);
  const relative = main === undefined ? undefined : inside(main);
  const { backupToFile } = context.abilities;
  if (main === undefined || relative === undefined || !existsSync(main) || backupToFile === undefined) {
    return { skip };
  }
  const snapshot = path.join(work, 'production-database');
  await backupToFile(production.db, snapshot);
  for (const companion of companions) {
    const name = inside(companion);
    if (name !== undefined) skip.push(name);
  }
  return { skip, substitutes: [{ relative, source: snapshot }] };
}
