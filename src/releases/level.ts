import type { SchemaHistoryTable } from '../db/schema.js';
import { RETIRED_SCRIPT } from './history.js';
import { RELEASES } from './matrix.js';
import { compareVersions } from './semver.js';

/** What the schema history says about a database, before comparing it with anything. */
export interface SchemaLevel {
  /** The newest release all of whose scripts finished; undefined when none did. */
  level: string | undefined;
  /** Scripts that started and did not finish (only possible where DDL is not transactional). */
  unfinished: SchemaHistoryTable[];
  /** Versions in the history that this build of Tessera does not know. */
  unknownVersions: string[];
  retired: boolean;
}

export function schemaLevelOf(history: readonly SchemaHistoryTable[]): SchemaLevel {
  const finished = new Set<string>();
  const unfinished: SchemaHistoryTable[] = [];
  const unknown = new Set<string>();
  let retired = false;
  for (const row of history) {
    if (row.script === RETIRED_SCRIPT) {
      retired = true;
      continue;
    }
    if (!RELEASES.some((r) => r.version === row.version)) unknown.add(row.version);
    if (row.finished_at === null) unfinished.push(row);
    else finished.add(row.version);
  }
  const complete = [...finished].filter((v) => !unfinished.some((u) => u.version === v));
  complete.sort(compareVersions);
  return { level: complete.at(-1), unfinished, unknownVersions: [...unknown].sort(compareVersions), retired };
}
