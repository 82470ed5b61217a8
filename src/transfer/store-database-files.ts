import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { localDatabaseFiles } from '../db/connection.js';
import { parseDatabaseUrl } from '../db/url.js';
import { type HomeLayout, SUPER_TENANT_ID, userstoresFolder } from '../home/layout.js';
import { domainOfStoreFile, parseStoreFile } from '../userstores/definitions/store-file.js';

/** A JDBC user store's database that is a file inside the home. */
export interface StoreDatabaseInHome {
  /** The store's URL, as its definition file writes it. */
  url: string;
  /** The database file, relative to the home (`/`-separated). */
  relative: string;
}

/**
 * The files of the home's JDBC user stores (every tenant's `userstores/`) whose database lives inside the
 * home, as a SQLite store does: they travel with the home as files. Stores on a database server and the
 * home's own database (`exclude`) are not files of the home.
 */
export async function storeDatabaseFiles(
  layout: HomeLayout,
  exclude: readonly string[],
): Promise<StoreDatabaseInHome[]> {
  const found = new Map<string, StoreDatabaseInHome>();
  for (const folder of await storeFolders(layout)) {
    for (const name of await readdir(folder)) {
      if (domainOfStoreFile(name) === undefined) continue;
      const file = path.join(folder, name);
      const parsed = parseStoreFile(await readFile(file, 'utf8'), file);
      if (!parsed.ok || parsed.definition.type !== 'jdbc') continue;
      const [main] = localDatabaseFiles(parseDatabaseUrl(parsed.definition.url, layout.root));
      if (main === undefined || exclude.includes(main) || !existsSync(main)) continue;
      const relative = path.relative(layout.root, main);
      if (relative.startsWith('..') || path.isAbsolute(relative)) continue;
      found.set(main, { url: parsed.definition.url, relative: relative.split(path.sep).join('/') });
    }
  }
  return [...found.values()];
}

async function storeFolders(layout: HomeLayout): Promise<string[]> {
  const folders = [userstoresFolder(layout, SUPER_TENANT_ID)];
  if (existsSync(layout.tenants)) {
    for (const entry of await readdir(layout.tenants, { withFileTypes: true })) {
      if (entry.isDirectory() && /^-?\d+$/.test(entry.name)) {
        folders.push(userstoresFolder(layout, Number(entry.name)));
      }
    }
  }
  return folders.filter((folder) => existsSync(folder));
}
