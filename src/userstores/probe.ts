import { existsSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import { openDatabase } from '../db/connection.js';
import { type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { assertHostAllowed } from './allowed-hosts.js';
import { verifyLdapDirectory } from './ldap/verify.js';
import { UNREACHABLE_MESSAGE } from './reach-errors.js';
import { assertSqliteInside, serverDatabaseRefusal, storeDatabaseRefusal } from './store-database.js';
import type { StoreDefinition } from './store-file.js';
import { storeTablesProblem } from './store-tables.js';

export type ProbeResult = { ok: true } | { ok: false; error: string };

export interface ProbeOptions {
  /** The home, which relative SQLite paths resolve against. */
  home: string;
  /** The server's own database, which a secondary store may not use. */
  serverDatabase?: DatabaseTarget;
  /**
   * The server database's identity (`Dialect.databaseIdentity`), asked only when a store's database on a
   * server was reached: the same database under another host name or address is refused as well.
   */
  serverIdentity?: () => Promise<string>;
  /** How long opening a JDBC store's database may take (default 10 s). */
  timeoutMs?: number;
  /**
   * A tenant admin's probe: SQLite files must be inside this folder (the tenant's own), see
   * assertSqliteInside. Unset for the super tenant's admin, who may name any file.
   */
  sqliteFolder?: string;
  /**
   * A tenant admin's probe: a JDBC store's database server must be one of these hosts, see
   * assertHostAllowed. Unset for the super tenant's admin, who may name any.
   */
  allowedHosts?: readonly string[];
  /**
   * Whether a failure to connect is explained (driver message, host and port, refused bind, missing base):
   * for the super tenant's admin only. Otherwise the probe would tell a tenant admin which hosts and ports
   * answer on the server's network, so they get a generic error.
   */
  detailedErrors?: boolean;
}

/** What a tenant admin is told of any failure to reach the database or directory. */
export const GENERIC_PROBE_ERROR = UNREACHABLE_MESSAGE;

/**
 * Tries a store definition without saving or changing anything: a JDBC store's database opens and its
 * store tables are either all absent (Tessera creates them) or all there with their columns; an LDAP
 * store's directory accepts the bind DN and has both search bases. Never throws; the error never carries a
 * password, and says why the database or directory could not be reached only with `detailedErrors`.
 */
export async function probeStoreDefinition(
  definition: StoreDefinition,
  options: ProbeOptions,
): Promise<ProbeResult> {
  let problem: string | undefined;
  try {
    if (definition.type === 'ldap') await verifyLdapDirectory(definition.url, definition.ldap);
    else problem = await jdbcProblem(definition.url, options);
  } catch (error) {
    if (error instanceof ProbeRefusal || options.detailedErrors === true)
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    return { ok: false, error: GENERIC_PROBE_ERROR };
  }
  return problem === undefined ? { ok: true } : { ok: false, error: problem };
}

/** A refusal of the definition itself (not a failure to connect): its message is shown to every caller. */
class ProbeRefusal extends Error {}

/** A TesseraError about the definition, as a refusal every caller may read. */
function asRefusal(error: unknown): unknown {
  return error instanceof TesseraError ? new ProbeRefusal(error.message) : error;
}

async function jdbcProblem(url: string, options: ProbeOptions): Promise<string | undefined> {
  let target: DatabaseTarget;
  try {
    target = parseDatabaseUrl(url, options.home);
  } catch (error) {
    throw asRefusal(error);
  }
  const ownDatabase = serverDatabaseRefusal(url, target, options.serverDatabase);
  if (ownDatabase !== undefined) return ownDatabase.message;
  if (target.kind === 'sqlite') {
    try {
      if (options.sqliteFolder !== undefined) assertSqliteInside(url, target, options.sqliteFolder);
    } catch (error) {
      throw asRefusal(error);
    }
    return sqliteProblem(target.file);
  }
  if (options.allowedHosts !== undefined) {
    try {
      await assertHostAllowed(url, target, options.allowedHosts);
    } catch (error) {
      throw asRefusal(error);
    }
  }
  const database = await withTimeout(
    openDatabase<unknown>(url, options.home),
    options.timeoutMs ?? 10_000,
    `Cannot open the user store database ${redactDatabaseUrl(url)}: no answer within ${options.timeoutMs ?? 10_000} ms`,
  );
  try {
    const serverIdentity = await options.serverIdentity?.();
    return (await storeDatabaseRefusal(url, database, serverIdentity))?.message;
  } finally {
    await database.close().catch(() => {});
  }
}

/**
 * Looks at a SQLite file without changing it: opened read-only, with no pragma (the server's own opening
 * would create the file and its folder, and switch it to WAL, creating -wal and -shm beside it). A file
 * already in WAL mode still gets -wal and -shm, as for any reader: SQLite needs them, and this build of
 * better-sqlite3 takes no `immutable=1` URI to avoid them.
 */
function sqliteProblem(file: string): string | undefined {
  // A missing file is fine: the store creates it (and its tables) when added.
  if (!existsSync(file)) return undefined;
  const database = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  try {
    // SQLite's own tables (sqlite_sequence, sqlite_stat1) are part of any file, not someone else's data.
    const names = database
      .prepare(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
      )
      .all() as {
      name: string;
    }[];
    const tables = names.map(({ name }) => ({
      name,
      columns: database.prepare('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[],
    }));
    return storeTablesProblem(tables);
  } finally {
    database.close();
  }
}

async function withTimeout<T extends { close(): Promise<void> }>(
  opening: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Whatever opens after giving up is closed rather than leaked.
      opening.then((opened) => opened.close()).catch(() => {});
      reject(new Error(message));
    }, ms);
  });
  try {
    return await Promise.race([opening, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
