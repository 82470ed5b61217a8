import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DeploymentConfig } from '../config/schema.js';

/** How many replaced and undeployed app archives `backups/` keeps (`deployment.backup_retention_*`). */
export interface BackupRetention {
  /** The newest this many per app are kept; at least 1, so an upload can always put back what it replaced. */
  count: number;
  /** Older ones are removed; 0 keeps them whatever their age. */
  days: number;
}

/**
 * The names the API gives what it keeps of an app: `replaced-<tenantId>-<ms>-<app>.zip` (the zip an upload
 * replaced) and `undeployed-<tenantId>-<ms>-<entry>` (the zip or folder an undeploy moved out). The super
 * tenant's id is negative, hence `-?`. Anything else in backups/ (upgrade backups, deleted tenants) is not
 * this module's to remove.
 */
const APP_ARCHIVE = /^(?:replaced|undeployed)-(-?\d+)-(\d+)-(.+?)(?:\.zip)?$/i;

const DAY_MS = 24 * 60 * 60 * 1000;

interface AppArchive {
  name: string;
  /** Tenant and app: the archives of one app are counted together, replaced and undeployed alike. */
  group: string;
  time: number;
}

/**
 * Removes the app archives in `backups` that the retention does not keep, and returns their names. Run
 * after every upload and undeploy (and at start, for the age limit), so backups/ holds at most `count`
 * archives of each app instead of one more per replacement.
 */
export async function pruneAppBackups(
  backups: string,
  retention: BackupRetention,
  now = Date.now(),
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(backups);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const groups = new Map<string, AppArchive[]>();
  for (const name of names) {
    const archive = appArchive(name);
    if (!archive) continue;
    groups.set(archive.group, [...(groups.get(archive.group) ?? []), archive]);
  }
  const oldest = retention.days > 0 ? now - retention.days * DAY_MS : Number.NEGATIVE_INFINITY;
  const keep = Math.max(1, retention.count);
  const removed: string[] = [];
  for (const archives of groups.values()) {
    archives.sort((a, b) => b.time - a.time || b.name.localeCompare(a.name));
    for (const [index, archive] of archives.entries()) {
      if (index < keep && archive.time >= oldest) continue;
      await rm(path.join(backups, archive.name), { recursive: true, force: true });
      removed.push(archive.name);
    }
  }
  return removed.sort();
}

function appArchive(name: string): AppArchive | undefined {
  const match = APP_ARCHIVE.exec(name);
  if (!match) return undefined;
  const [, tenant, time, app] = match;
  return { name, group: `${tenant}/${app}`, time: Number(time) };
}

/** `pruneAppBackups` with the configured retention, logging what it removed; a failure is logged, not thrown. */
export async function applyBackupRetention(
  backups: string,
  config: DeploymentConfig,
  logger: Logger,
): Promise<void> {
  try {
    const removed = await pruneAppBackups(backups, {
      count: config.backupRetentionCount,
      days: config.backupRetentionDays,
    });
    if (removed.length > 0) logger.info({ removed }, 'old app archives removed from backups/');
  } catch (error) {
    logger.warn(
      { err: error, backups },
      'pruning app archives in backups/ failed; tried again at the next upload',
    );
  }
}
