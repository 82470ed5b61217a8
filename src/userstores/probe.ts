import { DEFAULT_STORE_CONNECT_TIMEOUT_MS } from '../config/schema.js';
import { type Database, dialectModule, openDatabase } from '../db/connection.js';
import { type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import type { StoreDefinition } from './definitions/store-file.js';
import { verifyLdapDirectory } from './ldap/verify.js';
import { UNREACHABLE_MESSAGE } from './reach-errors.js';
import { assertHostAllowed } from './sql/allowed-hosts.js';
import { assertSqliteInside, serverDatabaseRefusal, storeDatabaseRefusal } from './sql/store-database.js';
import { missingDatabaseOutcome } from './sql/store-database-creation.js';
import { storeTablesProblem } from './sql/store-tables.js';
import { homeRelativeSqliteUrl } from './sql/tenant-sqlite-path.js';

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
  /**
   * How long reaching the database or directory may take (default 10 s, `userstores.connect_timeout_ms`):
   * past it the connection is destroyed and the probe answers that it failed.
   */
  timeoutMs?: number;
  /**
   * A tenant admin's probe: SQLite files must be inside this folder (the tenant's own), see
   * assertSqliteInside, and relative paths are relative to it (tenant-sqlite-path.ts). Unset for the super
   * tenant's admin, who may name any file, relative to the home.
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
  const startedAt = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_CONNECT_TIMEOUT_MS;
  let problem: string | undefined;
  try {
    if (definition.type === 'ldap') await ldapProblem(definition, timeoutMs);
    else problem = await jdbcProblem(definition.url, options, timeoutMs);
  } catch (error) {
    if (error instanceof ProbeRefusal || options.detailedErrors === true)
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    // A refused port answers at once, a silent one after the timeout: a tenant admin's failure always
    // answers at the timeout, so that the time taken does not tell which ports are open.
    await sleep(startedAt + timeoutMs - Date.now());
    return { ok: false, error: GENERIC_PROBE_ERROR };
  }
  return problem === undefined ? { ok: true } : { ok: false, error: problem };
}

/** The directory binds and has both search bases, each step within the probe's timeout at most. */
async function ldapProblem(definition: StoreDefinition, timeoutMs: number): Promise<void> {
  const settings = definition.ldap;
  const bounded = settings && { ...settings, timeoutMs: Math.min(settings.timeoutMs, timeoutMs) };
  // The client destroys its socket when a step times out; the race bounds the steps together.
  await withDeadline(
    verifyLdapDirectory(definition.url, bounded),
    timeoutMs,
    `The LDAP server ${redactDatabaseUrl(definition.url)} did not answer within ${timeoutMs} ms`,
  );
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** `work`, or a rejection with `message` once `ms` have passed. */
async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A refusal of the definition itself (not a failure to connect): its message is shown to every caller. */
class ProbeRefusal extends Error {}

/** A TesseraError about the definition, as a refusal every caller may read. */
function asRefusal(error: unknown): unknown {
  return error instanceof TesseraError ? new ProbeRefusal(error.message) : error;
}

async function jdbcProblem(
  url: string,
  options: ProbeOptions,
  timeoutMs: number,
): Promise<string | undefined> {
  let target: DatabaseTarget;
  try {
    // A tenant admin's relative SQLite path is relative to the tenant's folder; messages quote it as given.
    const opened =
      options.sqliteFolder === undefined
        ? url
        : homeRelativeSqliteUrl(url, options.sqliteFolder, options.home);
    target = parseDatabaseUrl(opened, options.home);
  } catch (error) {
    throw asRefusal(error);
  }
  const ownDatabase = serverDatabaseRefusal(url, target, options.serverDatabase);
  if (ownDatabase !== undefined) return ownDatabase.message;
  if ('file' in target) {
    try {
      if (options.sqliteFolder !== undefined)
        assertSqliteInside(url, target, options.sqliteFolder, options.home);
    } catch (error) {
      throw asRefusal(error);
    }
    return fileDatabaseProblem(target);
  }
  if (options.allowedHosts !== undefined) {
    try {
      await assertHostAllowed(url, target, options.allowedHosts);
    } catch (error) {
      throw asRefusal(error);
    }
  }
  // The driver destroys its socket at the timeout; the race is there for whatever comes after connecting.
  let database: Database<unknown>;
  try {
    database = await withTimeout(
      openDatabase<unknown>(url, options.home, { connectTimeoutMs: timeoutMs }),
      timeoutMs,
      `Cannot open the user store database ${redactDatabaseUrl(url)}: no answer within ${timeoutMs} ms`,
    );
  } catch (error) {
    // A database that does not exist yet is fine when adding the store would create it, as a missing
    // SQLite file is; it is not created here.
    const missing = await missingDatabaseOutcome(url, options.home, error, { connectTimeoutMs: timeoutMs });
    if (missing === undefined) throw error;
    if (!missing.created) throw asRefusal(missing.refusal);
    return undefined;
  }
  try {
    const serverIdentity = await options.serverIdentity?.();
    return (await storeDatabaseRefusal(url, database, serverIdentity))?.message;
  } finally {
    await database.close().catch(() => {});
  }
}

/**
 * Looks at a file database without changing it (the dialect's `peekTables`: the server's own opening would
 * create the file and its folder). A missing file is fine: the store creates it (and its tables) when added.
 */
function fileDatabaseProblem(target: DatabaseTarget): string | undefined {
  const peek = dialectModule(target.kind).peekTables;
  if (peek === undefined)
    throw new Error(`${target.kind} databases cannot be looked at without opening them`);
  const tables = peek(target);
  return tables === undefined ? undefined : storeTablesProblem(tables);
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
