import type { CreateTableBuilder, Kysely } from 'kysely';
import type { DatabaseKind, DatabaseTarget } from './url.js';

/** One column as the engine reports it, normalised enough to compare a database with a release's schema. */
export interface IntrospectedColumn {
  name: string;
  /** The engine's own type name, lower-cased (e.g. `varchar(255)`, `bigint`, `text`). */
  type: string;
  nullable: boolean;
}

export interface IntrospectedIndex {
  name: string;
  columns: string[];
  unique: boolean;
}

export interface IntrospectedForeignKey {
  columns: string[];
  referencedTable: string;
  /** Empty when the engine leaves them implicit (SQLite's `REFERENCES parent` without columns). */
  referencedColumns: string[];
}

export interface IntrospectedTable {
  name: string;
  columns: IntrospectedColumn[];
  indexes: IntrospectedIndex[];
  /** The primary key's columns in key order; empty when the table has none. */
  primaryKey: string[];
  foreignKeys: IntrospectedForeignKey[];
  /**
   * The column whose values the engine generates (an identity or serial column, AUTO_INCREMENT, SQLite's
   * INTEGER PRIMARY KEY), whose generator must move past copied ids; undefined when there is none.
   */
  identity?: string;
}

/** A client connected to the database that is not this process's own connection. */
export interface LiveSession {
  id: string;
  user: string;
  client: string;
}

export type Rows = Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>;

export interface BulkInsertOptions {
  /** Called after each batch the engine accepted, with the number of rows in it and their size in bytes. */
  onBatch?: (rows: number, bytes: number) => void;
  /**
   * The rows are an exact copy of a consistent database with the same constraints, loaded parents first:
   * the engine may skip per-row checks that could only pass (MariaDB's foreign key checks).
   */
  trustedCopy?: boolean;
}

/** A table's row count and a digest of its content that its server computed without sending the rows. */
export interface TableDigest {
  rows: number;
  /**
   * Equal for equal content on the same engine and version, whatever the physical order of the rows; it
   * starts with the name of its form (`pg-record-sum:`), and only digests of one form compare.
   */
  digest: string;
}

/** A table as a native copy needs it. */
export interface CopiedTable {
  name: string;
  columns: readonly string[];
  primaryKey: readonly string[];
}

/** What `cloneDatabase` did: a refusal changes nothing on either side. */
export type CloneResult =
  /** `bytes`: the clone's size on the server, where the engine tells it. */
  { cloned: true; method: string; bytes?: number } | { cloned: false; reason: string };

/**
 * An engine's own way of copying data between two databases of its kind, faster than reading rows into
 * this process and inserting them again.
 */
export type NativeCopy =
  | {
      /** The whole database at once (SQLite's backup API): replaces everything the target held. */
      scope: 'database';
      /** How it copies, for plans and reports. */
      method: string;
      /** `onStep` runs between the copy's steps, while the copy is still under way. */
      copy(source: Kysely<unknown>, target: Kysely<unknown>, onStep?: () => void): Promise<void>;
    }
  | {
      /** One table at a time, into an existing, empty table with the same columns. */
      scope: 'table';
      method: string;
      /**
       * Returns the rows copied; `onBatch` gets row counts and bytes while the copy is under way. Undefined
       * when the engine's path cannot reach from this source to this target (nothing was written then).
       */
      copy(
        source: Kysely<unknown>,
        target: Kysely<unknown>,
        table: CopiedTable,
        onBatch?: (rows: number, bytes: number) => void,
      ): Promise<number | undefined>;
    };

/**
 * The files a file engine keeps beside a database's main file, by suffix: `carried` hold committed data and
 * travel with the file (a write-ahead log), `rebuilt` are rebuilt on open and never copied (a shared-memory
 * index). Both empty for server engines.
 */
export interface FileCompanions {
  readonly carried: readonly string[];
  readonly rebuilt: readonly string[];
}

/** What a server engine keeps beside its databases on this machine: nothing. */
export const NO_FILE_COMPANIONS: FileCompanions = { carried: [], rebuilt: [] };

/** A table as a read-only look at a database lists it: its name and its columns' names. */
export interface PeekedTable {
  name: string;
  columns: { name: string }[];
}

/**
 * Everything that differs between engines lives behind this interface (docs/architecture.md, Dialects): the
 * rest of Tessera speaks Kysely and asks the dialect only for what a query builder cannot express.
 */
export interface Dialect {
  readonly kind: DatabaseKind;
  /** How operators call the engine in messages (`PostgreSQL`). */
  readonly displayName: string;
  /** Whether DDL runs inside a transaction, so that a failed script rolls back whole. */
  readonly transactionalDdl: boolean;
  /** The column type for binary content of any size the server accepts (`bytea`, `longblob`). */
  readonly blobType: string;
  /** The column type for text of any size a registry property may hold (`text`, `mediumtext`). */
  readonly largeTextType: string;
  /** Adds the engine's table options (storage engine, character set) to a table being created; often none. */
  withTableOptions<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, never>;
  readonly fileCompanions: FileCompanions;
  /** Tables of the connected database (application tables only, sorted by name). */
  introspect(db: Kysely<unknown>): Promise<IntrospectedTable[]>;
  /** Bytes the database occupies on its server (or the file's size), for disk-space checks. */
  databaseSize(db: Kysely<unknown>): Promise<number>;
  /**
   * What names this database whatever URL reached it (`localhost`, `127.1`, `[::1]` or a DNS alias): the
   * server's own identifier and the database's name, as the server reports them. Two connections get equal
   * strings exactly when they reach the same database.
   */
  databaseIdentity(db: Kysely<unknown>): Promise<string>;
  /** Other clients connected to the same database right now. */
  liveSessions(db: Kysely<unknown>): Promise<LiveSession[]>;
  /**
   * Where the engine lists its connected clients (for messages), when it keeps such a list; undefined when it
   * keeps none (SQLite), so that `liveSessions` can never show a running node there.
   */
  readonly sessionWitness?: string;
  /** Inserts many rows fast, in batches, with the engine's bulk path; ids are kept as given. */
  bulkInsert(
    db: Kysely<unknown>,
    table: string,
    columns: readonly string[],
    rows: Rows,
    options?: BulkInsertOptions,
  ): Promise<number>;
  /**
   * Has the engine gather fresh planner statistics for a table, after a bulk load made them stale: without
   * them a planner may sort a whole table to answer a keyset page that an index serves directly.
   */
  refreshStatistics(db: Kysely<unknown>, table: string): Promise<void>;
  /** After rows were inserted with explicit ids, moves the table's id generator past the largest id. */
  syncIdentity(db: Kysely<unknown>, table: string, column: string): Promise<void>;
  /** The id a table's generator hands out next; undefined where the engine keeps no such state apart. */
  nextIdentity?(db: Kysely<unknown>, table: string, column: string): Promise<number | undefined>;
  /**
   * Makes the generator hand out `next` next, or the id after the largest one already in the table if that
   * is larger: a copy's generator then goes on exactly where the original's would have.
   */
  setNextIdentity?(db: Kysely<unknown>, table: string, column: string, next: number): Promise<void>;
  /** Adds an auto-generated integer primary key column to a table being created with the schema builder. */
  addIdentityColumn<T extends string>(
    table: CreateTableBuilder<T, never>,
    name: string,
  ): CreateTableBuilder<T, never>;
  /**
   * Runs `work` in one read-only transaction on one connection, so that everything it reads (through the
   * handle it is given, never through `db`) comes from the same committed state, even while others write.
   */
  readConsistently<T>(db: Kysely<unknown>, work: (snapshot: Kysely<unknown>) => Promise<T>): Promise<T>;
  /**
   * Counts and digests a table on the server (engines where reading every row into this process would cost
   * more than the copy); the digest covers `columns` in the order given. Undefined where the engine has no
   * hash function to run over rows, and rows are checksummed here instead.
   */
  tableDigest?(
    db: Kysely<unknown>,
    table: string,
    columns: readonly string[],
    /** `portable`: the form every version of the engine computes alike, when the faster one is not everywhere. */
    options?: { portable?: boolean },
  ): Promise<TableDigest>;
  /**
   * SHA-256 of the database's pages, the header's change counters excluded (engines that keep a database in
   * one file): equal for a page-by-page copy such as `nativeCopy` of scope `database` makes. Undefined when
   * the file cannot be read in a consistent state (its write-ahead log could not be folded in).
   */
  pageDigest?(db: Kysely<unknown>): Promise<string | undefined>;
  /**
   * Whether a trusted copy (`bulkInsert` with `trustedCopy`, `nativeCopy`) into this database skips foreign
   * key checks for the connected role, so that tables may load in any order, children beside parents.
   */
  trustedCopySkipsForeignKeys?(db: Kysely<unknown>): Promise<boolean>;
  /** The engine's fast copy between two databases of this kind, when it has one. */
  readonly nativeCopy?: NativeCopy;
  /**
   * Writes a consistent copy of the whole database to a new file (SQLite's backup API), for engines that
   * keep a database in a file; a live file and its write-ahead log are never copied as they lie.
   */
  backupToFile?(db: Kysely<unknown>, file: string): Promise<void>;
}

/** How a database is opened. */
export interface ConnectOptions {
  /**
   * The engine itself refuses every write on the connection (a SQLite file is opened read-only and never
   * created), so that a database another system still uses cannot be changed by mistake, whatever the
   * code above tries.
   */
  readOnly?: boolean;
  /**
   * The most connections the pool of a server engine holds at once (`database.pool_size`). SQLite has no
   * pool: one better-sqlite3 handle serves every query of the process.
   */
  poolSize?: number;
  /**
   * How long establishing a connection may take, the server's greeting included; past it the socket is
   * destroyed, not left open (a port that accepts and never answers would otherwise hold it for good).
   * Unset: the driver's own default.
   */
  connectTimeoutMs?: number;
}

/** The pool size when the caller names none (the `database.pool_size` default). */
export const DEFAULT_POOL_SIZE = 10;
export interface RoleDatabaseOptions extends ConnectOptions {
  /** Only tell whether the role may create the database; create nothing. */
  dryRun?: boolean;
}

/** What `createDatabaseAsRole` did (or, in a dry run, would do). */
export type RoleDatabaseCreation =
  | { created: true }
  | {
      created: false;
      /** Why the role may not, e.g. `role shop may not create databases`. */
      reason: string;
      /** The shell command an administrator runs to create the database for the role. */
      command: string;
    };

export interface DialectModule {
  readonly dialect: Dialect;
  connect(target: DatabaseTarget, options?: ConnectOptions): Promise<Kysely<unknown>>;
  /** Creates an empty database on the server of `target` (server engines only; SQLite creates on open). */
  createDatabase(target: DatabaseTarget): Promise<void>;
  dropDatabase(target: DatabaseTarget): Promise<void>;
  /**
   * Whether `connect` failed because the database `target` names does not exist (server engines). MariaDB
   * and MySQL answer a role that may not use a database of that name the same way, whether it exists or not.
   */
  isMissingDatabase?(error: unknown): boolean;
  /**
   * Creates the missing database of `target` with `target`'s own credentials, for that role to use (one
   * another client created meanwhile counts as created), or, with `dryRun`, only tells whether the role
   * may. A role that may not gets the shell command an administrator runs to create it for that role.
   */
  createDatabaseAsRole?(target: DatabaseTarget, options?: RoleDatabaseOptions): Promise<RoleDatabaseCreation>;
  /**
   * Replaces the (empty) database `target` by a copy of `source` made by the server itself, when both are on
   * one server and the engine can (PostgreSQL's template copy). Needs every connection to both closed,
   * this process's own included. Refuses without changing anything when it cannot.
   */
  cloneDatabase?(source: DatabaseTarget, target: DatabaseTarget): Promise<CloneResult>;
  /**
   * The files the database of `target` occupies on this machine, main file first, then the companions
   * the engine may keep beside it (journal, write-ahead log); undefined for server engines.
   */
  localFiles?(target: DatabaseTarget): string[];
  /**
   * The shell command an operator types to create an empty database for `target` (quoted in refusals), or
   * for a file engine what happens instead.
   */
  createDatabaseCommand(target: DatabaseTarget): string;
  /**
   * Lists the tables of the database `target` names without changing anything (file engines: no file, folder
   * or write-ahead log created, no journal mode switched); undefined when the database does not exist yet.
   * Undefined for server engines, whose databases are opened as usual.
   */
  peekTables?(target: DatabaseTarget): PeekedTable[] | undefined;
}
