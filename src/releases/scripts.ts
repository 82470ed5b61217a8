import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseKind } from '../db/url.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { shipsScripts } from './matrix.js';
import { splitStatements } from './sql-splitter.js';

export const RELEASES_DIR = path.join(PACKAGE_ROOT, 'src', 'releases');

export interface ReleaseScript {
  version: string;
  /** File name inside `<version>/<dialect>/`. */
  name: string;
  /** SHA-256 of the file's bytes, recorded in the schema history. */
  checksum: string;
  statements: string[];
}

/**
 * A release's scripts for one engine: `migration.sql` first, then any extra scripts by name; none for a release
 * that changes code only.
 */
export function releaseScripts(version: string, kind: DatabaseKind): ReleaseScript[] {
  if (!shipsScripts(version)) return [];
  const folder = path.join(RELEASES_DIR, version, kind);
  if (!existsSync(folder)) throw new Error(`release ${version} ships no scripts for ${kind} (${folder})`);
  const names = readdirSync(folder)
    .filter((name) => name.endsWith('.sql'))
    .sort((a, b) => (a === 'migration.sql' ? -1 : b === 'migration.sql' ? 1 : a.localeCompare(b)));
  return names.map((name) => {
    const bytes = readFileSync(path.join(folder, name));
    return {
      version,
      name,
      checksum: createHash('sha256').update(bytes).digest('hex'),
      statements: splitStatements(bytes.toString('utf8')),
    };
  });
}
