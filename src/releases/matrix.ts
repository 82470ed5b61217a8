import { TesseraError } from '../errors.js';
import { compareVersions, isVersion } from './semver.js';

export interface Release {
  version: string;
  /** The `tessera.toml` format this release reads and writes. */
  configFormat: string;
  /** Releases whose databases and homes this release's scripts and rules upgrade directly. */
  upgradesFrom: readonly string[];
  /**
   * The release whose scripts built this release's database: its own version when it ships scripts
   * (`<version>/<engine>/migration.sql`), its predecessor's level when it changes code only.
   */
  schemaLevel: string;
  summary: string;
  /**
   * From 2.0.1 on, the release's exact source: the commit it was cut from, tagged `v<version>`. Tests build
   * and run that commit as the old side of an upgrade (test/helpers/release-build.ts).
   */
  source?: { commit: string };
  /**
   * Its nodes follow the cluster-wide maintenance mode (src/maintenance/, 2.0.1 on): while it is on they
   * refuse writes, keep serving logins and reads, and acknowledge the switch. An upgrade from such nodes
   * can freeze production instead of stopping them (the online path, src/upgrade/path-choice.ts).
   */
  maintenanceMode?: true;
}

/**
 * Every release Tessera knows, oldest first. A release absent from another's `upgradesFrom` is a required
 * stop on the way: 2.0.0's scripts expect the 1.1.0 schema, so 1.0.0 goes through 1.1.0.
 */
export const RELEASES: readonly Release[] = [
  {
    version: '1.0.0',
    schemaLevel: '1.0.0',
    configFormat: '1.0',
    upgradesFrom: [],
    summary: 'tenants, primary store with salted SHA-256 passwords, roles, attributes, webapps',
  },
  {
    version: '1.1.0',
    schemaLevel: '1.1.0',
    configFormat: '1.1',
    upgradesFrom: ['1.0.0'],
    summary: 'user-store domains, system users and roles, wider attribute values, config keys renamed',
  },
  {
    version: '2.0.0',
    schemaLevel: '2.0.0',
    configFormat: '2.0',
    upgradesFrom: ['1.1.0'],
    summary: 'argon2id passwords, registry with mounts, cluster nodes, audit log, config changes',
  },
  {
    version: '2.0.1',
    schemaLevel: '2.0.0',
    configFormat: '2.0',
    upgradesFrom: ['2.0.0'],
    summary: 'code only: maintenance mode',
    source: { commit: 'd3d84324eaefe6dd589b81fc5aa9eb0642dd97fa' },
    maintenanceMode: true,
  },
  {
    version: '2.1.0',
    schemaLevel: '2.1.0',
    configFormat: '2.1',
    upgradesFrom: ['2.0.0', '2.0.1'],
    summary: 'server-side applications, app versions stored in the database and served by every node',
    maintenanceMode: true,
  },
];

export const CURRENT_RELEASE = '2.1.0';

export function findRelease(version: string): Release | undefined {
  return RELEASES.find((r) => r.version === version);
}

export function getRelease(version: string): Release {
  const release = findRelease(version);
  if (!release) {
    throw new TesseraError('RELEASE_UNKNOWN', `Unknown release "${version}".`, {
      hint: `Known releases: ${RELEASES.map((r) => r.version).join(', ')}.`,
    });
  }
  return release;
}

/**
 * The releases to apply, in order, to go from `from` to `to` (`from` excluded, `to` included): the
 * shortest chain of direct upgrades through the matrix. An empty list means `from` is `to`.
 */
export function upgradePath(from: string, to: string): string[] {
  getRelease(from);
  getRelease(to);
  if (compareVersions(to, from) < 0) {
    throw new TesseraError(
      'RELEASE_UNKNOWN',
      `Release ${to} is older than ${from}: Tessera never downgrades.`,
    );
  }
  // Breadth-first search backwards from the target finds the fewest hops.
  const previous = new Map<string, string | null>([[to, null]]);
  const queue = [to];
  while (queue.length > 0) {
    const version = queue.shift() as string;
    if (version === from) break;
    for (const source of getRelease(version).upgradesFrom) {
      if (!previous.has(source)) {
        previous.set(source, version);
        queue.push(source);
      }
    }
  }
  if (!previous.has(from)) {
    throw new TesseraError('RELEASE_UNKNOWN', `No upgrade path from ${from} to ${to} in the release matrix.`);
  }
  const path: string[] = [];
  for (let step = previous.get(from) ?? null; step !== null; step = previous.get(step) ?? null)
    path.push(step);
  return path;
}

/** Whether nodes of `version` follow the maintenance mode; false for a release this build does not know. */
export function hasMaintenanceMode(version: string): boolean {
  return findRelease(version)?.maintenanceMode === true;
}

/** The schema level a database at `version` has: `version` itself unless that release changed code only. */
export function releaseSchemaLevel(version: string): string {
  return getRelease(version).schemaLevel;
}

/** Whether `version` ships migration scripts of its own (a release that changes code only does not). */
export function shipsScripts(version: string): boolean {
  return releaseSchemaLevel(version) === version;
}

/** The schema level of this build: what the server's database must be at. */
export const CURRENT_SCHEMA_LEVEL = releaseSchemaLevel(CURRENT_RELEASE);

/**
 * Every release that ships scripts, from the first up to `version`'s schema level: the scripts that build a
 * fresh database at that level, in order.
 */
export function releasesUpTo(version: string): string[] {
  const level = releaseSchemaLevel(version);
  return RELEASES.filter((r) => shipsScripts(r.version) && compareVersions(r.version, level) <= 0).map(
    (r) => r.version,
  );
}

export { compareVersions, isVersion };
