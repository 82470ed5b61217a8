import type { Kysely } from 'kysely';
import type { ConnectOptions, Dialect, DialectModule } from './dialect.js';
import { mysqlModule } from './dialects/mysql/index.js';
import { postgresModule } from './dialects/postgres/index.js';
import { sqliteModule } from './dialects/sqlite/index.js';
import type { Schema } from './schema.js';
import { type DatabaseKind, type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl } from './url.js';

const MODULES: Record<DatabaseKind, DialectModule> = {
  sqlite: sqliteModule,
  postgres: postgresModule,
  mysql: mysqlModule,
};

/** An open database: the query builder, the dialect for what differs, and where it points. */
export interface Database<S = Schema> {
  readonly db: Kysely<S>;
  readonly dialect: Dialect;
  readonly kind: DatabaseKind;
  readonly target: DatabaseTarget;
  /** The URL with any password masked. */
  readonly label: string;
  close(): Promise<void>;
}

export function dialectModule(kind: DatabaseKind): DialectModule {
  return MODULES[kind];
}

/** Opens `url` (relative SQLite paths resolve against `home`). */
export async function openDatabase<S = Schema>(
  url: string,
  home: string,
  options?: ConnectOptions,
): Promise<Database<S>> {
  const target = parseDatabaseUrl(url, home);
  const module = MODULES[target.kind];
  const db = (await module.connect(target, options)) as Kysely<S>;
  return {
    db,
    dialect: module.dialect,
    kind: target.kind,
    target,
    label: redactDatabaseUrl(url),
    close: () => db.destroy(),
  };
}

/**
 * The files a database occupies on this machine (main file first, then journal and write-ahead log), or
 * none for a database on a server.
 */
export function localDatabaseFiles(target: DatabaseTarget): string[] {
  return MODULES[target.kind].localFiles?.(target) ?? [];
}

export async function createDatabase(url: string, home: string): Promise<void> {
  const target = parseDatabaseUrl(url, home);
  await MODULES[target.kind].createDatabase(target);
}

export async function dropDatabase(url: string, home: string): Promise<void> {
  const target = parseDatabaseUrl(url, home);
  await MODULES[target.kind].dropDatabase(target);
}
