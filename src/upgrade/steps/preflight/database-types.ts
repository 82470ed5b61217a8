import { isTesseraError } from '../../../errors.js';
import type { CheckResult } from '../../types.js';
import { engineName, type UpgradeTargets } from './targets.js';

export const DATABASE_TYPES_CHECK = 'database-types';

/**
 * An upgrade copies production into staging with the engine's own tools and runs that engine's scripts:
 * both sides must be one type of database.
 */
export function checkDatabaseTypes(targets: UpgradeTargets): CheckResult {
  const { production, staging } = targets;
  if (production.error) return unreadable('production (the old config)', production.error);
  if (staging.error) return unreadable('staging (--staging-db)', staging.error);
  const from = engineName(production.target.kind);
  const to = engineName(staging.target.kind);
  if (production.target.kind !== staging.target.kind) {
    return {
      name: DATABASE_TYPES_CHECK,
      ok: false,
      message: `Production is ${from} but staging is ${to}: an upgrade cannot change the type of database.`,
      hint: `Pass a ${from} database as --staging-db, like production's.`,
    };
  }
  return { name: DATABASE_TYPES_CHECK, ok: true, message: `Production and staging are both ${from}.` };
}

function unreadable(which: string, error: Error): CheckResult {
  return {
    name: DATABASE_TYPES_CHECK,
    ok: false,
    message: `The ${which} database URL cannot be read: ${error.message}`,
    hint: isTesseraError(error) ? error.hint : undefined,
  };
}
