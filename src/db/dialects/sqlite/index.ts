import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { TesseraError } from '../../../errors.js';
import { insertInBatches } from '../../batch.js';
import type { Dialect, DialectModule, IntrospectedTable } from '../../dialect.js';
import type { DatabaseTarget } from '../../url.js';

// SQLite allows 32,766 bound parameters per statement since 3.32.
const MAX_PARAMETERS = 32_000;

const dialect: Dialect = {
  kind: 'sqlite',
  transactionalDdl: true,

  async introspect(db) {
    const tables = await sql<{ name: string }>`
      select name from sqlite_master
      where type = 'table' and name not like 'sqlite_%'
      order by name`.execute(db);
    const result: IntrospectedTable[] = [];
    for (const { name } of tables.rows) {
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
      result.push({
        name,
        columns: columns.rows.map((c) => ({
          name: c.name,
          type: c.type.toLowerCase(),
          // An INTEGER PRIMARY KEY is the rowid and can never hold NULL, whatever table_info says.
          nullable: c.notnull === 0 && c.pk === 0,
        })),
        indexes,
      });
    }
    return result;
  },

  async databaseSize(db) {
    const result = await sql<{ bytes: number }>`
      select page_count * page_size as bytes from pragma_page_count(), pragma_page_size()`.execute(db);
    return Number(result.rows[0]?.bytes ?? 0);
  },

  async liveSessions() {
    // SQLite keeps no record of its readers; the cluster heartbeats are the only witness.
    return [];
  },

  bulkInsert(db, table, columns, rows) {
    return insertInBatches(db, table, columns, rows, MAX_PARAMETERS, 5_000);
  },

  addIdentityColumn(table, name) {
    return table.addColumn(name, 'integer', (c) => c.primaryKey().notNull()) as typeof table;
  },

  async syncIdentity() {
    // A rowid table always allocates past the largest rowid.
  },
};

export const sqliteModule: DialectModule = {
  dialect,

  async connect(target: DatabaseTarget) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    mkdirSync(path.dirname(target.file), { recursive: true });
    let database: Database.Database;
    try {
      database = new Database(target.file);
      database.pragma('journal_mode = WAL');
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
    return new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  },

  async createDatabase(target) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    mkdirSync(path.dirname(target.file), { recursive: true });
  },

  async dropDatabase(target) {
    if (target.kind !== 'sqlite') throw new Error('sqlite dialect given a server target');
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${target.file}${suffix}`, { force: true });
  },
};
