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

export interface IntrospectedTable {
  name: string;
  columns: IntrospectedColumn[];
  indexes: IntrospectedIndex[];
}

/** A client connected to the database that is not this process's own connection. */
export interface LiveSession {
  id: string;
  user: string;
  client: string;
}

/**
 * Everything that differs between engines lives behind this interface (DESIGN 6): the rest of Tessera
 * speaks Kysely and asks the dialect only for what a query builder cannot express.
 */
export interface Dialect {
  readonly kind: DatabaseKind;
  /** Whether DDL runs inside a transaction, so that a failed script rolls back whole. */
  readonly transactionalDdl: boolean;
  /** Tables of the connected database (application tables only, sorted by name). */
  introspect(db: Kysely<unknown>): Promise<IntrospectedTable[]>;
  /** Bytes the database occupies on its server (or the file's size), for disk-space checks. */
  databaseSize(db: Kysely<unknown>): Promise<number>;
  /** Other clients connected to the same database right now. */
  liveSessions(db: Kysely<unknown>): Promise<LiveSession[]>;
  /** Inserts many rows fast, in batches, with the engine's bulk path; ids are kept as given. */
  bulkInsert(
    db: Kysely<unknown>,
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  ): Promise<number>;
  /** After rows were inserted with explicit ids, moves the table's id generator past the largest id. */
  syncIdentity(db: Kysely<unknown>, table: string, column: string): Promise<void>;
  /** Adds an auto-generated integer primary key column to a table being created with the schema builder. */
  addIdentityColumn<T extends string>(
    table: CreateTableBuilder<T, never>,
    name: string,
  ): CreateTableBuilder<T, never>;
}

export interface DialectModule {
  readonly dialect: Dialect;
  connect(target: DatabaseTarget): Promise<Kysely<unknown>>;
  /** Creates an empty database on the server of `target` (server engines only; SQLite creates on open). */
  createDatabase(target: DatabaseTarget): Promise<void>;
  dropDatabase(target: DatabaseTarget): Promise<void>;
}
