import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { TesseraError } from '../../../errors.js';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../../../home/private-modes.js';
import { insertInBatches } from '../../batch.js';
import type {
  ConnectOptions,
  Dialect,
  DialectModule,
  IntrospectedForeignKey,
  IntrospectedTable,
  PeekedTable,
} from '../../dialect.js';
import type { DatabaseTarget } from '../../url.js';

// SQLite allows 32,766 bound parameters per statement since 3.32.
const MAX_PARAMETERS = 32_000;
/** Pages the backup API copies per step (16 MB with the default page size); the event loop runs between. */
const BACKUP_PAGES_PER_STEP = 4_096;
const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'];

/** The better-sqlite3 handle behind each Kysely instance `connect` returned, for the backup API. */
const handles = new WeakMap<Kysely<unknown>, Database.Database>();

function handleOf(db: Kysely<unknown>, purpose: string): Database.Database {
  const handle = handles.get(db);
  if (!handle) throw new Error(`${purpose} needs a SQLite Kysely instance returned by connect()`);
  return handle;
}

async function introspectTable(db: Kysely<unknown>, name: string): Promise<IntrospectedTable> {
  const columns = await sql<{ name: string; type: string; notnull: number; pk: number }>`
    select name, type, "notnull", pk from pragma_table_info(${name}) order by cid`.execute(db);
  const indexList = await sql<{ name: string; unique: number; origin: string }>`
    select name, "unique", origin from pragma_index_list(${name}) order by name`.execute(db);
  const indexes = [];
  for (const index of indexList.rows) {
    const cols = await sql<{ name: string }>`
      select name from pragma_index_info(${index.name}) order by seqno`.execute(db);
    indexes.push({ name: index.name, columns: cols.rows.map((c) => c.name), unique: index.unique === 1 });
  }
  const references = await sql<{ id: number; table: string; from: string; to: string | null }>`
    select id, "table", "from", "to" from pragma_foreign_key_list(${name}) order by id, seq`.execute(db);
  const foreignKeys = new Map<number, IntrospectedForeignKey>();
  for (const r of references.rows) {
    const key = foreignKeys.get(r.id) ?? { columns: [], referencedTable: r.table, referencedColumns: [] };
    key.columns.push(r.from);
    if (r.to !== null) key.referencedColumns.push(r.to);
    foreignKeys.set(r.id, key);
  }
  // `pk` is the column's position in the primary key; an INTEGER PRIMARY KEY (the rowid) has no index.
  const keyColumns = columns.rows.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  const rowid =
    keyColumns.length === 1 && keyColumns[0]?.type.toLowerCase() === 'integer'
      ? keyColumns[0].name
      : undefined;
  return {
    name,
    columns: columns.rows.map((c) => ({
      name: c.name,
      type: c.type.toLowerCase(),
      // An INTEGER PRIMARY KEY is the rowid and can never hold NULL, whatever table_info says.
      nullable: c.notnull === 0 && c.pk === 0,
    })),
    indexes,
    primaryKey: keyColumns.map((c) => c.name),
    foreignKeys: [...foreignKeys.values()],
    identity: rowid,
  };
}

/**
 * Creates a missing database file empty (a valid empty database) and owner-only before SQLite opens it:
 * SQLite would make it 0644 under the usual umask, and gives its -wal and -shm the main file's mode.
 */
function createPrivately(file: string): void {
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** Copies the whole database behind `db` into `file` page by page, while `db` stays usable. */
async function backup(db: Kysely<unknown>, file: string, onStep?: () => void): Promise<void> {
  createPrivately(file);
  await handleOf(db, 'backup').backup(file, {
    progress: () => {
      onStep?.();
      return BACKUP_PAGES_PER_STEP;
    },
  });
}

const dialect: Dialect = {
  kind: 'sqlite',
  displayName: 'SQLite',
  transactionalDdl: true,
  blobType: 'blob',
  largeTextType: 'text',
  withTableOptions: (table) => table,
  // The write-ahead log holds committed data; the shared-memory index is rebuilt from file and log on open.
  fileCompanions: { carried: ['-wal'], rebuilt: ['-shm'] },

  async introspect(db) {
    const tables = await sql<{ name: string }>`
      select name from sqlite_master
      where type = 'table' and name not like 'sqlite_%'
      order by name`.execute(db);
    const result: IntrospectedTable[] = [];
    for (const { name } of tables.rows) result.push(await introspectTable(db, name));
    return result;
  },

  async databaseSize(db) {
    const result = await sql<{ bytes: number }>`
      select page_count * page_size as bytes from pragma_page_count(), pragma_page_size()`.execute(db);
    return Number(result.rows[0]?.bytes ?? 0);
  },

  async databaseIdentity(db) {
    // The main file's real path: a symbolic link or another spelling of the path is the same database.
    const result = await sql<{
      file: string;
    }>`select file from pragma_database_list where name = 'main'`.execute(db);
    const file = result.rows[0]?.file ?? '';
    return `sqlite:${file === '' ? ':memory:' : realpathSync(file)}`;
  },

  async liveSessions() {
    // SQLite keeps no record of its readers (no sessionWitness): running nodes are found by their home locks.
    return [];
  },

  bulkInsert(db, table, columns, rows, options = {}) {
    // Foreign keys cannot be switched off inside a transaction here, and checking them costs little.
    return insertInBatches(db, table, columns, rows, {
      maxParameters: MAX_PARAMETERS,
      maxRows: 5_000,
      onBatch: options.onBatch,
    });
  },

  async refreshStatistics(db, table) {
    await sql`analyze ${sql.table(table)}`.execute(db);
  },

  addIdentityColumn(table, name) {
    return table.addColumn(name, 'integer', (c) => c.primaryKey().notNull()) as typeof table;
  },

  async syncIdentity() {
    // A rowid table always allocates past the largest rowid.
  },

  readConsistently(db, work) {
    // In WAL mode a read transaction sees the database as of its first read until it ends.
    return db.transaction().execute(work);
  },

  nativeCopy: {
    scope: 'database',
    method: 'SQLite online backup API',
    async copy(source, target, onStep) {
      // The target's own connection sees the copied pages once the backup commits.
      await backup(source, handleOf(target, 'copy').name, onStep);
    },
  },

  backupToFile(db, file) {
    return backup(db, file);
  },

  async pageDigest(db) {
    const handle = handleOf(db, 'pageDigest');
    // Folds the write-ahead log into the file (content unchanged), so that the file alone holds every page.
    const [result] = handle.pragma('wal_checkpoint(TRUNCATE)') as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    if (result && (result.busy !== 0 || result.log !== result.checkpointed)) return undefined;
    return hashPages(handle.name);
  },
};

/**
 * Header bytes a page-by-page copy may change without changing content: the file change counter (24-27),
 * the schema cookie the backup API bumps so that open connections reread the schema (40-43), and the
 * change counter's witness (92-95).
 */
const VOLATILE_HEADER_BYTES = [
  [24, 28],
  [40, 44],
  [92, 96],
] as const;

async function hashPages(file: string): Promise<string> {
  const hash = createHash('sha256');
  let first = true;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    if (first) {
      const masked = Buffer.from(chunk);
      for (const [from, to] of VOLATILE_HEADER_BYTES) masked.fill(0, from, Math.min(to, masked.length));
      hash.update(masked);
      first = false;
    } else {
      hash.update(chunk);
    }
  }
  return hash.digest('hex');
}

/**
 * Looks at a SQLite file without changing it: opened read-only, with no pragma (`connect` would create the
 * file and its folder, and switch it to WAL, creating -wal and -shm beside it). A file already in WAL mode
 * still gets -wal and -shm, as for any reader: SQLite needs them, and this build of better-sqlite3 takes no
 * `immutable=1` URI to avoid them. SQLite's own tables (sqlite_sequence, sqlite_stat1) are left out: they
 * are part of any file, not someone else's data.
 */
function peekSqliteTables(file: string): PeekedTable[] | undefined {
  if (!existsSync(file)) return undefined;
  const database = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const names = database
      .prepare(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
      )
      .all() as { name: string }[];
    return names.map(({ name }) => ({
      name,
      columns: database.prepare('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[],
    }));
  } finally {
    database.close();
  }
}

export const sqliteModule: DialectModule = {
  dialect,

  createDatabaseCommand(target) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    return `nothing to create: the stage step creates ${target.file}`;
  },

  peekTables(target) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    return peekSqliteTables(target.file);
  },

  async connect(target: DatabaseTarget, options: ConnectOptions = {}) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    let database: Database.Database;
    try {
      if (options.readOnly) {
        // Nothing created, nothing converted: the file is read as it is, WAL or not.
        database = new Database(target.file, { readonly: true, fileMustExist: true });
      } else {
        mkdirSync(path.dirname(target.file), { recursive: true, mode: PRIVATE_FOLDER_MODE });
        createPrivately(target.file);
        database = new Database(target.file);
        database.pragma('journal_mode = WAL');
      }
      database.pragma('busy_timeout = 5000');
      database.pragma('foreign_keys = ON');
    } catch (error) {
      throw new TesseraError(
        'DB_CONNECT_FAILED',
        `Cannot open SQLite database ${target.file}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
    handles.set(db, database);
    return db;
  },

  async createDatabase(target) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    mkdirSync(path.dirname(target.file), { recursive: true });
  },

  async dropDatabase(target) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    for (const file of sqliteModule.localFiles?.(target) ?? []) rmSync(file, { force: true });
  },

  localFiles(target) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    return [target.file, ...COMPANION_SUFFIXES.map((suffix) => `${target.file}${suffix}`)];
  },
};
