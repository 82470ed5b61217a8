import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Journal, journalPath } from '../../journal.js';
import type { CheckResult, UpgradeContext } from '../../types.js';

export const NEW_HOME_CHECK = 'new-home';

/**
 * The upgrade writes the new installation into the NEW home, so it must not hold anything else: it is
 * absent, empty, or already holds this very upgrade's journal (a resumed run). Another home, or another
 * upgrade's journal, is refused rather than overwritten.
 */
export function checkNewHome(context: UpgradeContext): CheckResult {
  const { newLayout, oldLayout } = context;
  const root = newLayout.root;
  if (isInside(root, oldLayout.root)) {
    return fail(
      `The new home ${root} lies inside the old home ${oldLayout.root}.`,
      'Pass a --home outside the old home: the old home is archived and stays as it is.',
    );
  }
  if (!existsSync(root)) return pass(`The new home ${root} does not exist yet; the upgrade creates it.`);
  if (!statSync(root).isDirectory()) {
    return fail(`The new home ${root} is a file, not a folder.`, 'Pass a new or empty folder as --home.');
  }
  const journalFile = journalPath(root);
  if (existsSync(journalFile)) return checkJournal(context, journalFile);
  const entries = readdirSync(root);
  if (entries.length === 0) return pass(`The new home ${root} is empty.`);
  if (existsSync(newLayout.configFile)) {
    return fail(
      `The new home ${root} is already a Tessera home (it has ${path.relative(root, newLayout.configFile)}) and no journal of this upgrade.`,
      'Pass a new or empty folder as --home; an installed home is never overwritten.',
    );
  }
  return fail(
    `The new home ${root} is not empty: it holds ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}.`,
    'Pass a new or empty folder as --home.',
  );
}

function checkJournal(context: UpgradeContext, file: string): CheckResult {
  let id: string;
  try {
    id = Journal.load(file).data.id;
  } catch (error) {
    return fail(
      `The new home holds an unreadable upgrade journal ${file}: ${(error as Error).message}`,
      'Pass a new or empty folder as --home.',
    );
  }
  if (id === context.journal.data.id) return pass(`The new home holds this upgrade's journal (${id}).`);
  return fail(
    `The new home holds the journal of another upgrade (${id}).`,
    `Resume that upgrade with --resume, or pass a new or empty folder as --home.`,
  );
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  const outside = relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  return !outside;
}

function pass(message: string): CheckResult {
  return { name: NEW_HOME_CHECK, ok: true, message };
}

function fail(message: string, hint: string): CheckResult {
  return { name: NEW_HOME_CHECK, ok: false, message, hint };
}
