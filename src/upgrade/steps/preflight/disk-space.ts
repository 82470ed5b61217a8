import { existsSync, lstatSync, readdirSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../../../progress/bytes.js';
import type { CheckResult, UpgradeContext } from '../../types.js';

export const DISK_SPACE_CHECK = 'disk-space';

/** Free bytes for an unprivileged writer on the filesystem holding `folder` (an existing folder). */
export type FreeSpaceSource = (folder: string) => number;

export const statfsFreeSpace: FreeSpaceSource = (folder) => {
  const stats = statfsSync(folder);
  return Number(stats.bavail) * Number(stats.bsize);
};

/**
 * The backup (a dump of production and an archive of the old home) and, with SQLite, the staging copy land
 * on the new home's filesystem: it needs twice production's size plus the old home's.
 */
export async function checkDiskSpace(
  context: UpgradeContext,
  freeSpace: FreeSpaceSource,
): Promise<CheckResult> {
  const production = await context.production();
  const databaseBytes = await production.dialect.databaseSize(production.db);
  const homeBytes = folderSize(context.oldLayout.root);
  const needed = 2 * databaseBytes + homeBytes;
  const where = nearestExistingFolder(context.newLayout.backups);
  const free = freeSpace(where);
  const figures = `needs ${formatBytes(needed)} (2 x database ${formatBytes(databaseBytes)} + old home ${formatBytes(homeBytes)}), ${formatBytes(free)} free on the filesystem of ${where}`;
  if (free < needed) {
    return {
      name: DISK_SPACE_CHECK,
      ok: false,
      message: `Not enough disk for the backup: ${figures}.`,
      hint: `Free ${formatBytes(needed - free)} there, or pass a --home on a larger filesystem.`,
    };
  }
  return { name: DISK_SPACE_CHECK, ok: true, message: `The backup ${figures}.` };
}

/** The folder itself when it exists, else its closest existing ancestor (where it would be created). */
export function nearestExistingFolder(folder: string): string {
  let current = path.resolve(folder);
  while (!existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

/** Bytes of the regular files under `root`; links are not followed, so nothing is counted twice. */
export function folderSize(root: string): number {
  if (!existsSync(root)) return 0;
  let total = 0;
  const pending = [root];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) total += lstatSync(full).size;
    }
  }
  return total;
}
