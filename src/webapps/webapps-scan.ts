import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { APP_CONFIG_FILE } from './app-config.js';

export type AppSourceKind = 'folder' | 'zip';

/** Something in a `webapps/` folder that may become an app. */
export interface AppSource {
  /** The app name it would deploy as: the folder name, or the zip's name without `.zip`. */
  name: string;
  /** Its name inside `webapps/` (`hello`, `hello.zip`). */
  entry: string;
  kind: AppSourceKind;
  path: string;
  /**
   * Changes whenever the app must be (re)deployed: for a zip its identity, size and modification time;
   * for a folder its identity and its `tessera-app.toml` (the folder's other files are served live).
   */
  fingerprint: string;
}

const ZIP_SUFFIX = /\.zip$/i;

/**
 * The folders and `.zip` files in a `webapps/` folder, sorted by entry name. Hidden entries (editors'
 * and file managers' droppings) and other files are not apps and are left out; so is anything that
 * vanishes while being looked at. A missing folder has no apps.
 */
export async function scanWebapps(webapps: string): Promise<AppSource[]> {
  let entries: string[];
  try {
    entries = await readdir(webapps);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const sources: AppSource[] = [];
  for (const entry of entries.sort()) {
    if (entry.startsWith('.')) continue;
    const source = await describeEntry(webapps, entry);
    if (source) sources.push(source);
  }
  return sources;
}

async function describeEntry(webapps: string, entry: string): Promise<AppSource | undefined> {
  const entryPath = path.join(webapps, entry);
  try {
    // stat, not lstat: an operator may symlink an app folder or archive into webapps/.
    const info = await stat(entryPath);
    if (info.isDirectory()) {
      return {
        name: entry,
        entry,
        kind: 'folder',
        path: entryPath,
        fingerprint: `folder:${info.dev}:${info.ino}:${await configStamp(entryPath)}`,
      };
    }
    if (info.isFile() && ZIP_SUFFIX.test(entry)) {
      return {
        name: entry.replace(ZIP_SUFFIX, ''),
        entry,
        kind: 'zip',
        path: entryPath,
        fingerprint: `zip:${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`,
      };
    }
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function configStamp(folder: string): Promise<string> {
  try {
    const info = await stat(path.join(folder, APP_CONFIG_FILE));
    return `${info.ino}:${info.size}:${info.mtimeMs}`;
  } catch {
    return 'none';
  }
}
