import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * A home is its owner's alone: nearly everything in it can hold a secret (password hashes in the SQLite
 * database and its -wal/-shm, store URLs with passwords in `conf/` and `userstores/`, dumps and archives in
 * `backups/`, the log, the upgrade journal). Files are 0600 and folders 0700, whichever way they were made.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_FOLDER_MODE = 0o700;
/**
 * The CLI's umask: what it creates through libraries that choose their own modes (SQLite's files, tar,
 * pino, copies) is owner-only too. Embedders keep their own umask; the explicit modes and
 * `tightenHome` cover them.
 */
export const PRIVATE_UMASK = 0o077;

/** Set once by the CLI at start. */
export function restrictUmask(): void {
  process.umask(PRIVATE_UMASK);
}

/**
 * Takes group and world access away from everything under `root` (the owner's own bits, such as an app's
 * executable bit, are kept), for a home made by an earlier release or under a looser umask. Symbolic
 * links are neither changed nor followed. Returns how many entries it changed.
 */
export function tightenHome(root: string): number {
  let changed = 0;
  const visit = (entry: string): void => {
    let mode: number;
    let isFolder: boolean;
    try {
      const stats = lstatSync(entry);
      if (stats.isSymbolicLink()) return;
      mode = stats.mode & 0o7777;
      isFolder = stats.isDirectory();
    } catch {
      return; // removed meanwhile (a server of the same home may be running)
    }
    if ((mode & 0o077) !== 0) {
      try {
        chmodSync(entry, mode & ~0o077 & 0o7777);
        changed += 1;
      } catch {
        // Not ours to change (another owner): leave it, the home's own folder still closes it off.
      }
    }
    if (!isFolder) return;
    let names: string[];
    try {
      names = readdirSync(entry);
    } catch {
      return;
    }
    for (const name of names) visit(path.join(entry, name));
  };
  visit(path.resolve(root));
  return changed;
}
