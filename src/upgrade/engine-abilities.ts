import type { Kysely } from 'kysely';
import { dialectModule } from '../db/connection.js';
import type { CloneResult, NativeCopy } from '../db/dialect.js';
import type { DatabaseKind, DatabaseTarget } from '../db/url.js';

/** Carries each table's id generator position from production to staging, where the engine keeps one apart. */
export interface IdentityCarrier {
  next(db: Kysely<unknown>, table: string, column: string): Promise<number | undefined>;
  set(db: Kysely<unknown>, table: string, column: string, next: number): Promise<void>;
}

/**
 * What the upgrade's engine offers beyond what every dialect does, resolved once before step one (as Atlas's
 * executor checks `Locker` and `Snapshoter` up front): steps use what is here, bound to its dialect, and never
 * probe the dialect for an optional method themselves. An absent entry means the engine has no such path and
 * the step takes the general one.
 */
export interface EngineAbilities {
  /** A server-side copy of a whole database into an empty one on the same server. */
  clone?: (source: DatabaseTarget, target: DatabaseTarget) => Promise<CloneResult>;
  /** The engine's fast copy between two of its databases. */
  nativeCopy?: NativeCopy;
  /** Whether a trusted copy into this database may load tables in any order (no foreign key checks). */
  trustedCopySkipsForeignKeys?: (db: Kysely<unknown>) => Promise<boolean>;
  identities?: IdentityCarrier;
  /** SHA-256 of a file database's pages, to compare a page-by-page copy with its original at once. */
  pageDigest?: (db: Kysely<unknown>) => Promise<string | undefined>;
  /** A consistent copy of the whole database in a new file, instead of copying a live file as it lies. */
  backupToFile?: (db: Kysely<unknown>, file: string) => Promise<void>;
}

export function resolveEngineAbilities(kind: DatabaseKind): EngineAbilities {
  const module = dialectModule(kind);
  const { dialect } = module;
  const abilities: EngineAbilities = {};
  if (module.cloneDatabase) abilities.clone = module.cloneDatabase.bind(module);
  if (dialect.nativeCopy) abilities.nativeCopy = dialect.nativeCopy;
  if (dialect.trustedCopySkipsForeignKeys)
    abilities.trustedCopySkipsForeignKeys = dialect.trustedCopySkipsForeignKeys.bind(dialect);
  if (dialect.nextIdentity && dialect.setNextIdentity)
    abilities.identities = {
      next: dialect.nextIdentity.bind(dialect),
      set: dialect.setNextIdentity.bind(dialect),
    };
  if (dialect.pageDigest) abilities.pageDigest = dialect.pageDigest.bind(dialect);
  if (dialect.backupToFile) abilities.backupToFile = dialect.backupToFile.bind(dialect);
  return abilities;
}
