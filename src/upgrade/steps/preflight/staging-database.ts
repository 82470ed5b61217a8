import { existsSync, statSync } from 'node:fs';
import type { Database } from '../../../db/connection.js';
import { redactDatabaseUrl } from '../../../db/url.js';
import { isTesseraError } from '../../../errors.js';
import type { CheckResult, UpgradeContext } from '../../types.js';
import { createDatabaseCommand } from './operator-commands.js';
import { databaseFile, sameDatabase, type UpgradeTargets } from './targets.js';

export const STAGING_CHECK = 'staging-database';

/**
 * Staging receives a copy of production, so it must start empty: a server database created by the operator
 * (Tessera never creates databases on a server it was not asked to), or an SQLite file that does not exist
 * yet. An absent file is not opened here, since opening creates it and the preflight changes nothing.
 */
export async function checkStagingDatabase(
  context: UpgradeContext,
  targets: UpgradeTargets,
  /** This upgrade's preflight passed before (a resumed run): staging then holds what the upgrade wrote. */
  passedBefore: boolean,
): Promise<CheckResult> {
  const { production, staging } = targets;
  const label = redactDatabaseUrl(context.plan.stagingUrl);
  if (staging.error) {
    return fail(`The staging URL ${label} cannot be read: ${staging.error.message}`, 'Fix --staging-db.');
  }
  if (production.target && sameDatabase(production.target, staging.target)) {
    return fail(
      `Staging ${label} is the production database itself.`,
      'Pass a separate, empty database as --staging-db: the upgrade never migrates production in place.',
    );
  }
  const file = databaseFile(staging.target);
  if (file !== undefined && !existsSync(file)) {
    return pass(`Staging ${file} does not exist yet; the stage step creates it.`);
  }
  if (file !== undefined && statSync(file).size === 0) return pass(`Staging ${file} is an empty file.`);

  let database: Database<unknown>;
  try {
    database = await context.staging();
  } catch (error) {
    if (!isTesseraError(error, 'DB_CONNECT_FAILED')) throw error;
    return fail(
      `Staging ${label} cannot be opened (it must exist and be empty): ${error.message}`,
      `Create it empty first: ${createDatabaseCommand(staging.target)}`,
    );
  }
  const tables = (await database.dialect.introspect(database.db)).map((t) => t.name);
  if (tables.length === 0) return pass(`Staging ${label} exists and is empty.`);
  // A preflight that passed earlier in this upgrade saw staging empty: what it holds now, the upgrade wrote.
  if (passedBefore) {
    return pass(`Staging ${label} holds ${tables.length} tables written by this upgrade.`);
  }
  return fail(
    `Staging ${label} is not empty: it holds ${tables.length} tables (${preview(tables)}).`,
    file === undefined
      ? `Drop it and create it again empty (${createDatabaseCommand(staging.target)}), or pass another --staging-db.`
      : `Remove ${file} or pass another --staging-db.`,
  );
}

function preview(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, ...`;
}

function pass(message: string): CheckResult {
  return { name: STAGING_CHECK, ok: true, message };
}

function fail(message: string, hint: string): CheckResult {
  return { name: STAGING_CHECK, ok: false, message, hint };
}
