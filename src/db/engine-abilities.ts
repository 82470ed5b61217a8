import type { Kysely } from 'kysely';
import { dialectModule } from './connection.js';
import type { CloneResult, Dialect, NativeCopy, TableDigest } from './dialect.js';
import type { DatabaseKind, DatabaseTarget } from './url.js';

/** Carries each table's id generator position from production to staging, where the engine keeps one apart. */
export interface IdentityCarrier {
  next(db: Kysely<unknown>, table: string, column: string): Promise<number | undefined>;
  set(db: Kysely<unknown>, table: string, column: string, next: number): Promise<void>;
}

/**
 * What an engine offers beyond what every dialect does, resolved once before the work starts (as Atlas's
 * executor checks `Locker` and `Snapshoter` up front): the upgrade resolves it before step one, a comparison
 * or an export before its first table. Callers use what is here, bound to its dialect, and never probe the
 * dialect for an optional method themselves. An absent entry means the engine has no such path and the
 * caller takes the general one.
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
  /** Counts and digests a table on the server, so that its rows never leave it (see Dialect.tableDigest). */
  tableDigest?: (
    db: Kysely<unknown>,
    table: string,
    columns: readonly string[],
    options?: { portable?: boolean },
  ) => Promise<TableDigest>;
}

/** Everything `kind`'s engine offers: its dialect's abilities and the server-side clone of its module. */
export function resolveEngineAbilities(kind: DatabaseKind): EngineAbilities {
  const module = dialectModule(kind);
  const abilities = resolveDialectAbilities(module.dialect);
  if (module.cloneDatabase) abilities.clone = module.cloneDatabase.bind(module);
  return abilities;
}

/** What one dialect object offers (a copy's two sides may be two versions of one engine). */
export function resolveDialectAbilities(dialect: Dialect): EngineAbilities {
  const abilities: EngineAbilities = {};
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
  if (dialect.tableDigest) abilities.tableDigest = dialect.tableDigest.bind(dialect);
  return abilities;
}
