import { DEFAULT_STORE_CONNECT_TIMEOUT_MS } from '../../config/schema.js';
import { type Database, openDatabase } from '../../db/connection.js';
import { type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl } from '../../db/url.js';
import { TesseraError } from '../../errors.js';
import { ensureJdbcStoreSchema, type StoreSchema } from './sql-schema.js';
import { sameDatabaseFollowingLinks, serverDatabaseRefusal, storeDatabaseRefusal } from './store-database.js';
import { openCreatingDatabase } from './store-database-creation.js';

/** One holder's use of a shared connection; `release` is idempotent. */
export interface ConnectionLease {
  readonly database: Database<StoreSchema>;
  /** Opened read-only (one of the databases this server must not change): the store must refuse writes. */
  readonly readOnly: boolean;
  release(): Promise<void>;
}

interface Shared {
  opening: Promise<Database<StoreSchema>>;
  holders: number;
  closed: boolean;
}

/**
 * How long closing the connections may take at shutdown: a pool stuck on a server that stopped answering
 * must not keep a stopping server from stopping (its sockets are abandoned, and go with the process).
 */
const CLOSE_DEADLINE_MS = 3_000;

/**
 * The JDBC stores' databases, one connection (pool) per database however many stores of however many
 * tenants use it, opened on first use with the store tables ensured, and closed when its last holder
 * lets go.
 */
export class StoreConnections {
  private readonly shared = new Map<string, Shared>();

  constructor(
    /** The home, which relative SQLite paths resolve against. */
    private readonly home: string,
    private readonly connectTimeoutMs = DEFAULT_STORE_CONNECT_TIMEOUT_MS,
    /** The server's own database: a secondary store there would share the PRIMARY store's tables. */
    private readonly serverDatabase?: DatabaseTarget,
    /**
     * Databases this server may read but never write (an upgrade's smoke test and the stores the old home
     * still uses): opened read-only by the engine, and their store tables never created.
     */
    private readonly readOnlyDatabases: readonly DatabaseTarget[] = [],
    /** Its identity, to know it again under another host name or address once a store's database answers. */
    private readonly serverIdentity?: () => Promise<string>,
  ) {}

  /** Throws DB_URL_INVALID for a bad URL and DB_CONNECT_FAILED when the database cannot be opened. */
  async acquire(url: string): Promise<ConnectionLease> {
    const target = parseDatabaseUrl(url, this.home);
    const refusal = serverDatabaseRefusal(url, target, this.serverDatabase);
    if (refusal !== undefined) throw refusal;
    const readOnly = this.readOnlyDatabases.some((database) => sameDatabaseFollowingLinks(target, database));
    const key = connectionKey(target);
    let entry = this.shared.get(key);
    if (entry === undefined) {
      const created: Shared = { opening: this.open(url, readOnly), holders: 0, closed: false };
      this.shared.set(key, created);
      // A failed open is forgotten at once, so that the next acquire tries again.
      created.opening.catch(() => {
        if (this.shared.get(key) === created) this.shared.delete(key);
      });
      entry = created;
    }
    const holder = entry;
    holder.holders++;
    let database: Database<StoreSchema>;
    try {
      database = await holder.opening;
    } catch (error) {
      holder.holders--;
      throw error;
    }
    let released = false;
    return {
      database,
      readOnly,
      release: async () => {
        if (released) return;
        released = true;
        await this.release(key, holder);
      },
    };
  }

  /** Open connections, for tests and metrics. */
  get size(): number {
    return this.shared.size;
  }

  /**
   * Closes every connection, whoever still holds it (the manager's shutdown), waiting `deadlineMs` at most:
   * one still opening is closed when it opens (or its driver destroys it at its connect timeout).
   */
  async closeAll(deadlineMs = CLOSE_DEADLINE_MS): Promise<void> {
    const entries = [...this.shared.values()];
    this.shared.clear();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    try {
      await Promise.race([Promise.all(entries.map((e) => this.closeOnce(e))), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async release(key: string, entry: Shared): Promise<void> {
    entry.holders--;
    if (entry.holders > 0) return;
    if (this.shared.get(key) === entry) this.shared.delete(key);
    await this.closeOnce(entry);
  }

  private async closeOnce(entry: Shared): Promise<void> {
    if (entry.closed) return;
    entry.closed = true;
    const database = await entry.opening.catch(() => undefined);
    await database?.close().catch(() => {});
  }

  private async open(url: string, readOnly: boolean): Promise<Database<StoreSchema>> {
    const opening = readOnly
      ? openReadOnly(url, this.home, this.connectTimeoutMs)
      : openWithSchema(url, this.home, this.connectTimeoutMs, this.serverIdentity);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Whatever connects after giving up is closed rather than leaked.
        opening.then((db) => db.close()).catch(() => {});
        reject(connectFailed(url, `no answer within ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
    });
    try {
      return await Promise.race([opening, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** No tables are created in a database opened read-only: a store whose tables are missing fails on use. */
async function openReadOnly(
  url: string,
  home: string,
  connectTimeoutMs: number,
): Promise<Database<StoreSchema>> {
  try {
    return await openDatabase<StoreSchema>(url, home, { readOnly: true, connectTimeoutMs });
  } catch (error) {
    throw error instanceof TesseraError ? error : connectFailed(url, errorMessage(error), error);
  }
}

async function openWithSchema(
  url: string,
  home: string,
  connectTimeoutMs: number,
  serverIdentity: (() => Promise<string>) | undefined,
): Promise<Database<StoreSchema>> {
  let database: Database<StoreSchema>;
  try {
    // The driver destroys the socket at the timeout, rather than leaving it to a server that never answers.
    // A database that does not exist yet is created when the URL's role may (store-database-creation.ts).
    database = await openCreatingDatabase<StoreSchema>(url, home, { connectTimeoutMs });
  } catch (error) {
    throw error instanceof TesseraError ? error : connectFailed(url, errorMessage(error), error);
  }
  // Before any table is created: the server's own database, or one holding someone else's tables, is left as it is.
  let refusal: TesseraError | undefined;
  try {
    refusal = await storeDatabaseRefusal(url, database, await serverIdentity?.());
  } catch (error) {
    await database.close().catch(() => {});
    throw connectFailed(url, `cannot tell which database this is: ${errorMessage(error)}`, error);
  }
  if (refusal !== undefined) {
    await database.close().catch(() => {});
    throw refusal;
  }
  try {
    // The schema builder needs no table types; Kysely's types are invariant in them, hence the cast.
    await ensureJdbcStoreSchema(database as unknown as Database<unknown>);
  } catch (error) {
    await database.close().catch(() => {});
    throw connectFailed(url, `cannot create the store tables: ${errorMessage(error)}`, error);
  }
  return database;
}

/**
 * Two URLs naming the same database share a connection; the password is part of the key so that a
 * definition with wrong credentials never rides on a connection opened with the right ones.
 */
function connectionKey(target: DatabaseTarget): string {
  if ('file' in target) return `${target.kind}:${target.file}`;
  return `${target.kind}://${encodeURIComponent(target.user)}:${encodeURIComponent(target.password ?? '')}@${target.host}:${target.port}/${target.database}`;
}

function connectFailed(url: string, reason: string, cause?: unknown): TesseraError {
  return new TesseraError(
    'DB_CONNECT_FAILED',
    `Cannot open the user store database ${redactDatabaseUrl(url)}: ${reason}`,
    {
      hint: 'Check that the server is running, the database exists and the URL is right.',
      cause,
    },
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
