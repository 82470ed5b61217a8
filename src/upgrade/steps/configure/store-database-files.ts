import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { dialectModule } from '../../../db/connection.js';
import type { FileCompanions } from '../../../db/dialect.js';
import { parseDatabaseUrl, redactDatabaseUrl, writtenFilePath } from '../../../db/url.js';
import { TesseraError } from '../../../errors.js';
import type { HomeLayout } from '../../../home/layout.js';
import { domainOfStoreFile, parseStoreFile } from '../../../userstores/definitions/store-file.js';
import { type TenantFolder, toHomePath } from './copy-units.js';
import { copyFileVerified } from './mirror.js';

/** A SQLite database file of secondary stores, at the same path inside both homes. */
export interface CarriedStoreDatabaseFile {
  /** Its path inside a home, e.g. `repository/database/userstores.db`. */
  relative: string;
  source: string;
  target: string;
  /** The stores using it, `PARTNERS (repository/tenants/1)`-style. */
  usedBy: string[];
  /** What its engine keeps beside it (a write-ahead log to carry, an index to drop). */
  companions: FileCompanions;
}

/** A store whose database stays where it is: a server database, LDAP, an absolute path, a broken file. */
export interface StoreLeftInPlace {
  store: string;
  /** Its URL with any password masked. */
  url: string;
  reason: string;
}

/** A JDBC store database both homes reach (a server database, an absolute `sqlite:` path). */
export interface SharedStoreUse {
  store: string;
  /** The URL as the store file writes it, password included: never journaled nor shown. */
  url: string;
}

export interface StoreDatabases {
  files: CarriedStoreDatabaseFile[];
  leftInPlace: StoreLeftInPlace[];
  /** The JDBC databases among `leftInPlace`: the old home still uses them, so the upgrade must not write them. */
  shared: SharedStoreUse[];
  /**
   * Stores whose relative `sqlite:` path leaves the old home: the new home would resolve the same URL to
   * another file, so the upgrade cannot carry them as they are.
   */
  outsideHome: StoreLeftInPlace[];
}

/**
 * Finds the secondary JDBC stores whose database is a SQLite file inside the old home (`sqlite:` with a
 * relative path): the new home must hold the same file at the same path, since the store definitions are
 * copied as they are. A store's schema is the same in every release, so the file is carried, not migrated.
 */
export async function findStoreDatabases(
  oldLayout: HomeLayout,
  newLayout: HomeLayout,
  tenants: readonly TenantFolder[],
): Promise<StoreDatabases> {
  const files = new Map<string, CarriedStoreDatabaseFile>();
  const leftInPlace: StoreLeftInPlace[] = [];
  const shared: SharedStoreUse[] = [];
  const outsideHome: StoreLeftInPlace[] = [];
  const folders = [oldLayout.deployment, ...tenants.map((t) => t.source)];
  for (const folder of folders) {
    const storesFolder = path.join(folder, 'userstores');
    if (!existsSync(storesFolder)) continue;
    for (const name of (await readdir(storesFolder)).sort()) {
      const domain = domainOfStoreFile(name);
      if (domain === undefined) continue;
      const file = path.join(storesFolder, name);
      const store = `${domain} (${toHomePath(oldLayout.root, folder)})`;
      const parsed = parseStoreFile(await readFile(file, 'utf8'), file);
      const url = parsed.ok ? parsed.definition.url : parsed.partial.url;
      const type = parsed.ok ? parsed.definition.type : parsed.partial.type;
      if (!parsed.ok || url === undefined) {
        leftInPlace.push({
          store,
          url: url ? redactDatabaseUrl(url) : '(none)',
          reason: 'its file does not parse; copied as it is',
        });
        continue;
      }
      if (type !== 'jdbc' || writtenFilePath(url) === undefined) {
        if (type === 'jdbc') shared.push({ store, url });
        leftInPlace.push({
          store,
          url: redactDatabaseUrl(url),
          reason: `a ${type === 'ldap' ? 'directory' : 'database server'} both homes reach`,
        });
        continue;
      }
      const located = locateInHome(oldLayout, url);
      if (located === 'absolute') {
        shared.push({ store, url });
        leftInPlace.push({ store, url, reason: 'an absolute path: the new home uses the same file' });
        continue;
      }
      if (located === 'outside') {
        outsideHome.push({ store, url, reason: 'a relative path outside the old home' });
        continue;
      }
      if (!existsSync(located.source)) {
        leftInPlace.push({
          store,
          url,
          reason: 'its database file does not exist yet; the store creates it when first used',
        });
        continue;
      }
      const entry = files.get(located.relative) ?? {
        relative: located.relative,
        source: located.source,
        target: path.join(newLayout.root, located.relative),
        usedBy: [],
        companions: located.companions,
      };
      entry.usedBy.push(store);
      files.set(located.relative, entry);
    }
  }
  return { files: [...files.values()], leftInPlace, shared, outsideHome };
}

/** Refuses stores the new home would resolve to another database (see `StoreDatabases.outsideHome`). */
export function assertStoresCarriable(databases: StoreDatabases): void {
  if (databases.outsideHome.length === 0) return;
  const stores = databases.outsideHome.map((s) => `${s.store} (${s.url})`).join(', ');
  throw new TesseraError(
    'CONFIG_INVALID',
    `User stores ${stores} use a relative sqlite: path outside the old home: from the new home it would name another file.`,
    {
      hint: 'Give these stores an absolute sqlite: path in their files in the old home, then resume the upgrade.',
    },
  );
}

export interface StoreDatabaseCopy {
  relative: string;
  bytes: number;
  sha256: string;
  copied: boolean;
  /** Whether a write-ahead log came with it. */
  wal: boolean;
  usedBy: string[];
}

/** Copies a store database file (and its write-ahead log, if any) and verifies both by sha256. */
export async function copyStoreDatabase(file: CarriedStoreDatabaseFile): Promise<StoreDatabaseCopy> {
  const main = await copyFileVerified(file.source, file.target);
  let wal = false;
  for (const suffix of file.companions.carried) {
    if (existsSync(`${file.source}${suffix}`)) {
      await copyFileVerified(`${file.source}${suffix}`, `${file.target}${suffix}`);
      wal = true;
    }
    // A log left by an earlier attempt would not belong to the file just copied.
    else await rm(`${file.target}${suffix}`, { force: true });
  }
  // Rebuilt on open from the file and its log: one left by an earlier attempt would not match them.
  for (const suffix of file.companions.rebuilt) await rm(`${file.target}${suffix}`, { force: true });
  return {
    relative: file.relative,
    bytes: main.bytes,
    sha256: main.sha256,
    copied: main.copied,
    wal,
    usedBy: file.usedBy,
  };
}

/**
 * Where a `sqlite:` URL's file lies inside the old home; `absolute` for an absolute path (the same file
 * from either home), `outside` for a relative path that leaves the home.
 */
function locateInHome(
  oldLayout: HomeLayout,
  url: string,
): { relative: string; source: string; companions: FileCompanions } | 'absolute' | 'outside' {
  const written = writtenFilePath(url);
  if (written === undefined || path.isAbsolute(written)) return 'absolute';
  const target = parseDatabaseUrl(url, oldLayout.root);
  if (!('file' in target)) return 'absolute';
  const relative = toHomePath(oldLayout.root, target.file);
  if (relative === '..' || relative.startsWith('../') || path.isAbsolute(relative)) return 'outside';
  return { relative, source: target.file, companions: dialectModule(target.kind).dialect.fileCompanions };
}
