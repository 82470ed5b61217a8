import type { Database } from '../db/connection.js';
import { TesseraError } from '../errors.js';
import { countTables, historyTableExists, readHistory } from './history.js';
import { schemaLevelOf } from './level.js';
import { CURRENT_RELEASE, CURRENT_SCHEMA_LEVEL, findRelease, releasesUpTo } from './matrix.js';
import { releaseScripts } from './scripts.js';
import { compareVersions } from './semver.js';

export type SchemaState =
  | { status: 'empty' }
  | { status: 'current'; level: string }
  | { status: 'older'; level: string }
  | { status: 'newer'; level: string }
  | { status: 'tampered'; level: string | undefined; scripts: string[] }
  | { status: 'incomplete'; level: string | undefined; scripts: string[] }
  | { status: 'retired'; level: string | undefined }
  | { status: 'foreign' };

/**
 * Reads where a database stands against a release (`release`, this build's by default): its schema level, which
 * a release that changes code only shares with the one before it.
 */
export async function inspectSchema<S>(typed: Database<S>, release = CURRENT_RELEASE): Promise<SchemaState> {
  const database = typed as unknown as Database<unknown>;
  // A version past every known release (the upgrade plan asks with one) stands for itself.
  const expected = findRelease(release)?.schemaLevel ?? release;
  if (!(await historyTableExists(database.db))) {
    return (await countTables(database.db)) === 0 ? { status: 'empty' } : { status: 'foreign' };
  }
  const history = await readHistory(database.db);
  const state = schemaLevelOf(history);
  if (state.retired) return { status: 'retired', level: state.level };
  if (state.unfinished.length > 0) {
    return {
      status: 'incomplete',
      level: state.level,
      scripts: state.unfinished.map((r) => `${r.version}/${r.script}`),
    };
  }
  const newest = [...state.unknownVersions, ...(state.level ? [state.level] : [])]
    .sort(compareVersions)
    .at(-1);
  if (newest !== undefined && compareVersions(newest, expected) > 0)
    return { status: 'newer', level: newest };
  if (state.level === undefined) return { status: 'empty' };
  const tampered: string[] = [];
  for (const version of releasesUpTo(state.level)) {
    for (const script of releaseScripts(version, database.kind)) {
      const row = history.find((h) => h.version === version && h.script === script.name);
      if (row === undefined || row.checksum !== script.checksum) tampered.push(`${version}/${script.name}`);
    }
  }
  if (tampered.length > 0) return { status: 'tampered', level: state.level, scripts: tampered };
  if (compareVersions(state.level, expected) < 0) return { status: 'older', level: state.level };
  return { status: 'current', level: state.level };
}

/** Refuses a database the server must not start on, with a message that says what to run instead. */
export function assertStartable(state: SchemaState, label: string): void {
  switch (state.status) {
    case 'current':
    case 'empty':
      return;
    case 'older':
      throw new TesseraError(
        'SCHEMA_OLDER',
        `Database ${label} is at schema level ${state.level}; Tessera ${CURRENT_RELEASE} needs ${CURRENT_SCHEMA_LEVEL}.`,
        { hint: `Upgrade it first: tessera upgrade --from-home OLD_HOME --home NEW_HOME --staging-db URL` },
      );
    case 'newer': {
      const known = findRelease(state.level);
      throw new TesseraError(
        'SCHEMA_NEWER',
        `Database ${label} is at schema level ${state.level}, newer than this Tessera (${CURRENT_RELEASE}).`,
        { hint: `Run Tessera ${known?.version ?? state.level} or later on it.` },
      );
    }
    case 'tampered':
      throw new TesseraError(
        'SCHEMA_TAMPERED',
        `Database ${label}: applied scripts ${state.scripts.join(', ')} do not match the scripts this release ships (checksum differs).`,
        {
          hint: 'Restore the database from a backup made by Tessera, or use the build that applied these scripts.',
        },
      );
    case 'incomplete':
      throw new TesseraError(
        'SCHEMA_INCOMPLETE',
        `Database ${label}: migration scripts ${state.scripts.join(', ')} stopped half-way.`,
        { hint: 'Finish the upgrade with: tessera upgrade ... --resume' },
      );
    case 'retired':
      throw new TesseraError(
        'SCHEMA_RETIRED',
        `Database ${label} was retired by an upgrade and must not be used again.`,
        {
          hint: 'Point database.url at the upgraded database named in the upgrade report (tessera upgrade report).',
        },
      );
    case 'foreign':
      throw new TesseraError(
        'SCHEMA_TAMPERED',
        `Database ${label} holds tables but no Tessera schema history.`,
        {
          hint: 'Point database.url at an empty database or at a Tessera database.',
        },
      );
  }
}
